"""The burst link library: framing, CRCs, and the receiver under realistic offsets."""

import math
from pathlib import Path

import numpy as np
import pytest

from wigenai.burst import (
    BurstReceiver,
    FrameFormat,
    Header,
    bit_errors,
    build_burst,
    build_stream,
    burst_model,
    crc16_ccitt,
    crc32,
    ddpm_denoise,
    decode_payload,
    known_payload,
)

ROOT = Path(__file__).resolve().parents[1]
SEED = 11
PAYLOAD_LEN = 100
# Three paths at 0, 3 and 7 samples (0, 0.75 and 1.75 symbols at sps 4), normalized
# to unit energy by air_channel.
MULTIPATH = {0: 1.0, 3: 0.3 * np.exp(0.9j), 7: 0.12 * np.exp(-2.1j)}


def air_channel(
    samples,
    sps=4,
    cfo_per_symbol=0.05,
    delay=0.37,
    taps=MULTIPATH,
    esn0_db=24.0,
    seed=0,
):
    """What the air and a receiver's front end do to a transmitted stream.

    A fractional delay (``delay`` samples, a linear phase across the spectrum of a
    zero-padded copy, so nothing wraps round), multipath (``taps``: sample delay ->
    complex gain, scaled to unit energy), a carrier offset of ``cfo_per_symbol``
    cycles per symbol and complex white Gaussian noise at ``esn0_db`` (symbol energy
    over the noise power per complex sample, the library's convention).
    """
    pad = 64
    n = samples.size + pad
    freq = np.fft.fftfreq(n)
    spectrum = np.fft.fft(np.concatenate([samples, np.zeros(pad)]))
    y = np.fft.ifft(spectrum * np.exp(-2j * np.pi * freq * delay))
    h = np.zeros(max(taps) + 1, dtype=np.complex128)
    for lag, gain in taps.items():
        h[lag] = gain
    y = np.convolve(y, h / np.linalg.norm(h))[:n]
    y = y * np.exp(2j * np.pi * cfo_per_symbol / sps * np.arange(n))
    rng = np.random.default_rng(seed)
    sigma = np.sqrt(10 ** (-esn0_db / 10) / 2)
    return y + sigma * (rng.normal(size=n) + 1j * rng.normal(size=n))


def burst_stream(n_bursts=20, modulation="16qam", seed=SEED, payload_len=PAYLOAD_LEN):
    """``n_bursts`` bursts of the known test payloads and their first samples."""
    payloads = [known_payload(seed, seq, payload_len) for seq in range(n_bursts)]
    return build_stream(payloads, modulation=modulation)


def count_errors(results, seed=SEED):
    return sum(
        bit_errors(r.payload, known_payload(seed, r.seq, r.header.length))
        for r in results
        if r.header_ok and r.complete
    )


def test_crc_check_values():
    assert crc16_ccitt(b"123456789") == 0x29B1
    assert crc32(b"123456789") == 0xCBF43926


def test_header_packs_the_documented_bytes_and_rejects_damage():
    header = Header(length=0x0102, modulation="16qam", pmf_id=7, seq=0x0304)
    data = header.pack()
    assert data[:6] == bytes([0x11, 0x07, 0x01, 0x02, 0x03, 0x04])
    assert int.from_bytes(data[6:], "big") == crc16_ccitt(data[:6])
    assert Header.unpack(data) == header

    for bit in range(64):  # every single bit error is caught by the CRC-16
        damaged = bytearray(data)
        damaged[bit // 8] ^= 0x80 >> (bit % 8)
        assert Header.unpack(bytes(damaged)) is None
    body = bytes([0x21, 0, 0, 1, 0, 0])  # version 2
    assert Header.unpack(body + crc16_ccitt(body).to_bytes(2, "big")) is None
    with pytest.raises(ValueError, match="expected 8 bytes"):
        Header.unpack(data[:7])


@pytest.mark.parametrize("modulation", ["qpsk", "16qam", "64qam"])
def test_clean_burst_round_trip(modulation):
    payload = known_payload(3, 41, 57)
    fmt = FrameFormat()
    symbols, samples = build_burst(payload, fmt, modulation, pmf_id=2, seq=41)
    assert symbols.size == fmt.burst_symbols(57, modulation)
    assert samples.size == fmt.burst_samples(57, modulation)
    guard = np.zeros(200)
    (result,) = BurstReceiver().process(np.concatenate([guard, samples, guard]))
    assert result.complete and result.header_ok and result.crc_ok
    assert result.payload == payload
    assert (result.seq, result.modulation, result.pmf_id) == (41, modulation, 2)
    assert result.start == 200
    assert result.n_samples == samples.size
    assert abs(result.cfo_per_symbol) < 1e-5
    assert result.snr_db > 40  # what the truncated RRC's own ISI leaves


def test_detection_under_offsets_and_multipath():
    samples, starts = burst_stream()
    received = air_channel(samples)
    rx = BurstReceiver()
    results = rx.process(received)
    assert len(results) == 20 and rx.lost == 0
    assert all(r.crc_ok for r in results)
    assert [r.seq for r in results] == list(range(20))
    assert count_errors(results) == 0
    # the channel delays by 0.37 samples: the start lands on the true sample or the next
    assert all(0 <= r.start - s <= 1 for r, s in zip(results, starts, strict=True))
    assert all(abs(r.cfo_per_symbol - 0.05) < 1e-3 for r in results)
    snr = np.array([r.snr_db for r in results])
    assert np.all(np.abs(snr - 24.0) < 1.5)


def test_streaming_push_in_random_chunks_equals_process():
    samples, _ = burst_stream(8)
    received = air_channel(samples, seed=1)
    whole = BurstReceiver().process(received)

    rx = BurstReceiver()
    streamed = []
    rng = np.random.default_rng(5)
    pos = 0
    while pos < received.size:
        step = int(rng.integers(1, 3000))
        streamed += rx.push(received[pos : pos + step])
        pos += step
    streamed += rx.flush()

    assert len(streamed) == len(whole) == 8
    assert rx.bursts == 8
    for a, b in zip(streamed, whole, strict=True):
        assert (a.start, a.seq, a.crc_ok, a.payload) == (
            b.start,
            b.seq,
            b.crc_ok,
            b.payload,
        )
        np.testing.assert_allclose(a.symbols, b.symbols, atol=1e-6)
        assert a.cfo_per_symbol == pytest.approx(b.cfo_per_symbol, abs=1e-9)


@pytest.mark.parametrize("streaming", [False, True])
def test_stream_cut_inside_the_last_burst_counts_it_lost(streaming):
    samples, starts = burst_stream(4)
    received = air_channel(samples, seed=2)
    cut = received[: starts[-1] + 900]  # inside the payload of burst 3
    rx = BurstReceiver()
    if streaming:
        results = [
            r for k in range(0, cut.size, 1000) for r in rx.push(cut[k : k + 1000])
        ]
        results += rx.flush()
    else:
        results = rx.process(cut)
    assert [r.complete for r in results] == [True, True, True, False]
    assert rx.lost == 1
    assert all(r.crc_ok for r in results[:3])
    last = results[-1]
    assert last.header_ok and last.seq == 3 and last.payload is None
    assert last.to_annotation()["complete"] is False


@pytest.mark.parametrize("modulation,esn0_db", [("qpsk", 16.0), ("16qam", 24.0)])
def test_ddpm_path_decodes_the_same_payloads_at_high_snr(modulation, esn0_db):
    pytest.importorskip("onnxruntime")
    samples, _ = burst_stream(6, modulation)
    received = air_channel(samples, esn0_db=esn0_db, seed=3)
    plain = BurstReceiver().process(received)
    denoised = BurstReceiver(denoise=ddpm_denoise()).process(received)
    assert [r.payload for r in denoised] == [r.payload for r in plain]
    assert all(r.crc_ok for r in denoised)
    for r in denoised:
        assert not np.array_equal(r.denoised, r.symbols)  # the model did run
        # the equalized symbols kept for the conventional path decide the same
        _, payload, crc_ok = decode_payload(r.symbols, r.header)
        assert crc_ok and payload == r.payload


def test_known_payload_is_reproducible_and_bit_errors_count_bits():
    assert known_payload(1, 2, 16) == known_payload(1, 2, 16)
    assert known_payload(1, 2, 16) != known_payload(1, 3, 16)
    assert bit_errors(b"\x00\xff", b"\x01\x7f") == 2
    with pytest.raises(ValueError, match="received: 1 bytes, sent: 2 bytes"):
        bit_errors(b"\x00", b"\x00\x00")


@pytest.mark.parametrize("modulation", ["qpsk", "16qam", "64qam"])
def test_burst_models_serve_the_nominal_points(modulation):
    """The shipped burst-link denoisers are what their configs say, and on the nominal
    points at 25 dB they decide as nearest neighbour does; the paper's 64-QAM
    denoiser, whose prior is a 4-bit DAC's points, does not."""
    from wigenai import train_denoiser
    from wigenai.constellation import Constellation
    from wigenai.model_contract import load_contract
    from wigenai.paths import default_model

    config = train_denoiser.merge_config(
        train_denoiser.load_config(
            str(ROOT / "configs" / f"denoiser-{modulation}-burst.yaml")
        )
    )
    contract = load_contract(str(burst_model(modulation)), kind="denoiser")
    assert contract.training_link == train_denoiser.contract_link(config)
    assert contract.variant == "unconditional"
    assert contract.training_link["quant_bits"] == 0

    const = Constellation.named(modulation)
    rng = np.random.default_rng(2)
    sent = const.map(rng.integers(0, const.order, 20_000))
    esn0_db = 25.0
    sigma = math.sqrt(10 ** (-esn0_db / 10) / 2)
    received = sent + sigma * (
        rng.standard_normal(sent.size) + 1j * rng.standard_normal(sent.size)
    )
    nearest = const.nearest(received)
    burst = const.nearest(ddpm_denoise()(received, modulation, esn0_db))
    assert np.mean(burst == nearest) >= 0.999
    if modulation == "64qam":
        paper = ddpm_denoise(str(default_model("denoiser", modulation)))
        assert (
            np.mean(const.nearest(paper(received, modulation, esn0_db)) == nearest) < 0.95
        )
