"""Burst (packet) link for over-the-air tests: framing, pulse shaping and a receiver.

Frame layout, in symbols (``P = 64`` preamble symbols, ``H = 64`` header symbols)::

    | preamble (P, BPSK) | header (H, BPSK) | payload: chunk, pilot, chunk, pilot, ... |

* **Preamble**: the 63-chip m-sequence ``a[k] = a[k-6] XOR a[k-1]`` started from the
  all-ones state (period 63, periodic autocorrelation -1 off peak), BPSK-mapped
  (``0 -> +1``, ``1 -> -1``) and extended by its first chip to 64 symbols. Its
  aperiodic autocorrelation sidelobes are at most 6 (of 64), and so are at most 8 (of
  63) those of its differential sequence ``p[k] p[k-1]``, which the detector uses.
* **Header**: 8 bytes sent as 64 BPSK symbols (bit 0 -> +1, bit 1 -> -1, MSB first)::

      byte 0     version (4 bits, = 1) << 4 | modulation id (0 qpsk, 1 16qam, 2 64qam)
      byte 1     shaping pmf id (0 = uniform; any other value is the application's)
      bytes 2-3  payload length in bytes, unsigned big-endian (0..65535)
      bytes 4-5  sequence number, unsigned big-endian (0..65535)
      bytes 6-7  CRC-16/CCITT-FALSE of bytes 0-5, big-endian

* **Payload**: the payload bytes followed by their CRC-32 (``zlib.crc32``, big-endian),
  unpacked MSB first, zero-padded to whole symbols and mapped with the Gray square QAM
  of :class:`wigenai.constellation.Constellation` (index bits MSB first), so that
  ``ceil(8 (n_bytes + 4) / log2(M))`` data symbols are sent. The bytes are not
  scrambled: a probabilistically shaped symbol stream (see ``pmf_id``) reaches the air
  unchanged. With ``pilot_spacing = K > 0`` the data symbols are cut into chunks of
  ``K`` (the last one possibly shorter) and each chunk is followed by one known pilot,
  ``(1 + 1j) / sqrt(2)`` times the preamble chip of the pilot's number (mod 64); a
  burst therefore always ends on a pilot.

Samples: the symbols are pulse-shaped by a unit-energy root raised cosine (RRC) at
``sps`` samples per symbol, filter tails included: a burst of ``n`` symbols has
``(n - 1) sps + 2 h + 1`` samples, ``h = ceil(span sps / 2)``, and its symbol ``k``
peaks at sample ``h + k sps``. The mean sample power is ``1 / sps`` (unit symbol
energy); Es/N0 is then the symbol energy over the noise power per complex sample.

Receiver (:class:`BurstReceiver`, with each step also a function a streaming block can
call on its buffer):

1. :func:`matched_filter`: the unit-energy RRC, aligned so that the pulse of a symbol
   peaking at input sample ``c`` peaks at output sample ``c``.
2. :func:`preamble_metric` / :func:`detect_preambles`: coarse detection, robust to a
   frequency offset, by a *differential* normalized cross-correlation: with
   ``d[n] = m[n] conj(m[n - sps])`` on the matched-filter output ``m`` and the
   differential preamble ``q[k] = p[k] conj(p[k-1])``, the metric for the preamble
   starting at ``t`` is ``|sum_k d[t + k sps] conj(q[k])| / sqrt(63 sum_k |d|^2)``
   (Cauchy-Schwarz: 1 for a perfect match whatever the CFO, about ``1/sqrt(63)`` for
   noise or data). A carrier offset only turns ``d`` by a constant phase, so no
   frequency search is needed. Threshold: 0.5 (:data:`DEFAULT_THRESHOLD`), about 15
   noise standard deviations above the noise floor; a clean burst reaches 0.9-1,
   multipath and noise lower it (roughly 0.75 for the 3-tap test channel at 20 dB).
   Peaks are local maxima above the threshold, one per preamble length.
3. Coarse CFO: the phase of that correlation at the peak, divided by ``2 pi``, is the
   phase progression per symbol (cycles per symbol, unambiguous within +-0.5).
4. Timing: the integer peak picks the best of the ``sps`` sample phases, a parabola
   through the metric at the peak and its two neighbours gives the fraction, and the
   matched filter is re-evaluated at that fractional delay (the RRC is analytic, so
   its taps are simply sampled at shifted instants).
5. Per burst (:func:`demodulate_burst`): the raw samples are derotated by the coarse
   CFO, matched-filtered at the fractional timing and taken at the symbol instants.
   Fine CFO: the phase between the correlations of the preamble's two halves with the
   known symbols, over 32 symbols (unambiguous within 1/64 cycles per symbol).
6. Equalizer: a least-squares symbol-spaced FIR (``eq_taps``, default 7) fit to the
   known preamble, for every decision delay ``0..eq_taps-1``, keeping the best; it
   takes out the gain, the common phase, the residual timing and the multipath.
7. Header: BPSK decisions, CRC-16 and field checks (``header_ok``). A failed header
   ends the burst there; the search goes on after the preamble.
8. Pilot-aided phase tracking over the payload: the phase of the equalized known
   symbols (preamble, header, pilots) is smoothed with a triangular window
   (``track_window`` symbols each side, default ``4 (K + 1)``), the equalizer is refit
   on all known symbols of the derotated burst, and a local-linear smoothing of the
   remaining pilot phases gives the correction. The slope of the whole phase track
   refines the CFO estimate.
   8b. Decision-directed refinement (default on): tentative nearest-neighbour
   decisions on the data symbols make every symbol a reference; the phase track is
   smoothed again over all symbols and the equalizer refit on all of them. Fitted on
   pilots alone, both carry the pilots' noise into every data symbol (measured: 0.7
   dB of effective Es/N0 at 12 dB, QPSK, 32-symbol pilot spacing).
9. The equalized symbols are divided by their gain on the known symbols (so that the
   constellation has its nominal unit average energy, the scale a DDPM denoiser is
   trained at); the noise left on the known symbols gives the SNR estimate (Es/N0,
   corrected for the fitted degrees of freedom).
10. Optionally a denoiser, ``denoise(symbols, modulation, snr_db) -> symbols`` (a DDPM
    receiver, :func:`ddpm_denoise`, started at the burst's SNR estimate), then
    decisions by nearest neighbour on the nominal constellation, bits, bytes and the
    CRC-32 (:func:`decode_payload`, ``crc_ok``).

Test traffic: :func:`known_payload` gives the payload of burst ``seq`` for a payload
seed, so that a receiver that knows the seed (``wigenai replay --payload-seed``)
counts bit errors against what was sent.

A burst whose samples end before its last symbol is returned with ``complete=False``
and counted in :attr:`BurstReceiver.lost`; it never raises.
"""

from __future__ import annotations

import binascii
import logging
import math
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy.signal import oaconvolve

from .constellation import Constellation, order_of

log = logging.getLogger(__name__)

PREAMBLE_LEN = 64
HEADER_BYTES = 8
HEADER_SYMBOLS = 8 * HEADER_BYTES
HEADER_VERSION = 1
PAYLOAD_CRC_BYTES = 4
MAX_PAYLOAD_BYTES = 65535
MODULATION_IDS = {"qpsk": 0, "16qam": 1, "64qam": 2}
DEFAULT_THRESHOLD = 0.5
DEFAULT_EQ_TAPS = 7

Denoiser = Callable[[np.ndarray, str, float], np.ndarray]


# --------------------------------------------------------------------------- helpers


def crc16_ccitt(data: bytes) -> int:
    """CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF, no reflection, no final xor).

    Parameters
    ----------
    data : bytes-like

    Returns
    -------
    int
        The 16-bit check value; ``crc16_ccitt(b"123456789") == 0x29B1``.
    """
    return binascii.crc_hqx(bytes(data), 0xFFFF)


def crc32(data: bytes) -> int:
    """CRC-32 (IEEE 802.3, as ``zlib.crc32``); ``crc32(b"123456789") == 0xCBF43926``.

    Parameters
    ----------
    data : bytes-like

    Returns
    -------
    int
        The unsigned 32-bit check value.
    """
    return zlib.crc32(bytes(data)) & 0xFFFFFFFF


def bytes_to_bits(data: bytes) -> np.ndarray:
    """Bytes to unpacked bits, most significant bit of each byte first.

    Parameters
    ----------
    data : bytes-like

    Returns
    -------
    uint8 array, shape (8 * len(data),)
    """
    return np.unpackbits(np.frombuffer(bytes(data), dtype=np.uint8))


def bits_to_bytes(bits: np.ndarray) -> bytes:
    """Unpacked bits (MSB first, length a multiple of 8) to bytes.

    Parameters
    ----------
    bits : array of 0/1

    Returns
    -------
    bytes
    """
    b = np.asarray(bits).reshape(-1)
    if b.size % 8:
        raise ValueError(f"bits: length {b.size} is not a multiple of 8")
    if b.size and not np.all((b == 0) | (b == 1)):
        raise ValueError("bits: values must be 0 or 1")
    return np.packbits(b.astype(np.uint8)).tobytes()


def random_payload(n_bytes: int, seed: int | None = None) -> bytes:
    """``n_bytes`` uniformly random bytes from a seeded generator.

    Parameters
    ----------
    n_bytes : int
        Number of bytes, >= 0.
    seed : int or None
        Seed of ``numpy.random.default_rng``.

    Returns
    -------
    bytes
    """
    n = _check_int(n_bytes, "n_bytes", 0)
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, n, dtype=np.uint8).tobytes()


def known_payload(seed: int, seq: int, n_bytes: int) -> bytes:
    """The known payload of burst ``seq`` of a test transmission with ``seed``.

    Transmitter (``burst_tx`` in test mode) and receiver (``wigenai replay
    --payload-seed``) call this with the header's sequence number, so that bit errors
    can be counted against what was sent.

    Parameters
    ----------
    seed : int
        Payload seed, >= 0.
    seq : int
        Sequence number, 0..65535.
    n_bytes : int
        Payload length in bytes.

    Returns
    -------
    bytes
    """
    seed = _check_int(seed, "payload_seed", 0)
    seq = _check_int(seq, "seq", 0, 65535)
    return random_payload(n_bytes, seed=np.random.SeedSequence([seed, seq]))


def bit_errors(received: bytes, sent: bytes) -> int:
    """Bits that differ between two byte strings of equal length.

    Raises
    ------
    ValueError
        When the lengths differ.
    """
    a = np.frombuffer(bytes(received), dtype=np.uint8)
    b = np.frombuffer(bytes(sent), dtype=np.uint8)
    if a.size != b.size:
        raise ValueError(f"received: {a.size} bytes, sent: {b.size} bytes")
    return int(np.unpackbits(a ^ b).sum())


def _check_int(value, name: str, low: int, high: int | None = None) -> int:
    ok = isinstance(value, (int, np.integer)) and not isinstance(value, bool)
    if not ok or value < low or (high is not None and value > high):
        span = f">= {low}" if high is None else f"in {low}..{high}"
        raise ValueError(f"{name}: expected an integer {span}, got {value!r}")
    return int(value)


def nearest_decide(symbols: np.ndarray, modulation: str) -> np.ndarray:
    """Decision rule: nearest neighbour on the nominal unit-energy constellation.

    Parameters
    ----------
    symbols : complex array
        Equalized symbols at the nominal scale.
    modulation : str
        ``qpsk``, ``16qam`` or ``64qam``.

    Returns
    -------
    int64 array
        Symbol indices (Gray labels, MSB first).
    """
    return np.asarray(Constellation.named(modulation).nearest(symbols), dtype=np.int64)


def burst_model(modulation: str):
    """The shipped DDPM denoiser for the burst link (``models/denoiser-MOD-burst.onnx``).

    The paper's denoisers learned the points of a 4-bit DAC; a radio's DAC puts the
    nominal points on the air, and a prior on the wrong points pulls correct 64-QAM
    symbols away from them. These models learned the nominal points.
    """
    from .paths import default_model

    return default_model("denoiser", modulation, link="burst")


def ddpm_denoise(
    model_file: str | None = None,
    steps: int = 2,
    threads: int = 2,
) -> Denoiser:
    """A :data:`Denoiser` that runs the DDPM receiver on each burst's symbols.

    The reverse chain (deterministic DDIM, ``steps`` network calls) starts at the
    diffusion step matched to the burst's measured Es/N0 (``set_measured_snr_db`` of
    :class:`wigenai.ort_sampler.OrtDenoiser`), the same as the ``ddpm_denoiser``
    blocks do on an ``esn0_db`` stream tag.

    Parameters
    ----------
    model_file : str or None
        ONNX denoiser for every burst; None takes the shipped burst-link model of each
        burst's modulation (:func:`burst_model`).
    steps : int
        DDIM network calls per symbol.
    threads : int
        ONNX Runtime intra-op threads.

    Returns
    -------
    callable
        ``denoise(symbols, modulation, snr_db) -> symbols``; one ONNX Runtime session
        per modulation, made at first use.
    """
    from .ort_sampler import OrtDenoiser

    sessions: dict[str, OrtDenoiser] = {}

    def denoise(symbols: np.ndarray, modulation: str, snr_db: float) -> np.ndarray:
        if modulation not in sessions:
            path = model_file or str(burst_model(modulation))
            sessions[modulation] = OrtDenoiser(path, 0.0, steps=steps, threads=threads)
            if sessions[modulation].points.size != order_of(modulation):
                raise ValueError(
                    f"{path}: contract field 'constellation' has "
                    f"{sessions[modulation].points.size} points, the burst is "
                    f"{modulation}"
                )
        # A noiseless fit gives an infinite estimate: the chain then starts at step 0.
        esn0_db = float(snr_db) if math.isfinite(snr_db) else 300.0
        sessions[modulation].set_measured_snr_db(esn0_db)
        return sessions[modulation].denoise(symbols)

    return denoise


# ------------------------------------------------------------------ pulse and preamble


def rrc_taps(sps: int, rolloff: float, span: int, shift: float = 0.0) -> np.ndarray:
    """Root-raised-cosine taps with unit energy.

    Parameters
    ----------
    sps : int
        Samples per symbol, >= 2.
    rolloff : float
        Excess bandwidth, ``0 < rolloff <= 1``.
    span : int
        Filter length in symbols, >= 2: the taps cover ``-h..h`` samples,
        ``h = ceil(span sps / 2)``, ``2 h + 1`` taps (odd, symmetric).
    shift : float
        Fractional delay in samples: tap ``n`` is the pulse at ``(n + shift) / sps``
        symbols (0 gives the usual symmetric filter).

    Returns
    -------
    float64 array, shape (2 h + 1,)
    """
    sps = _check_int(sps, "sps", 2)
    span = _check_int(span, "span", 2)
    beta = float(rolloff)
    if not 0.0 < beta <= 1.0:
        raise ValueError(f"rolloff: expected 0 < rolloff <= 1, got {rolloff!r}")
    half = -(-span * sps // 2)
    t = (np.arange(-half, half + 1) + float(shift)) / sps
    h = np.empty_like(t)
    at_zero = np.abs(t) < 1e-9
    at_sing = np.abs(np.abs(t) - 1.0 / (4.0 * beta)) < 1e-9
    other = ~(at_zero | at_sing)
    to = t[other]
    num = np.sin(np.pi * to * (1 - beta)) + 4 * beta * to * np.cos(
        np.pi * to * (1 + beta)
    )
    h[other] = num / (np.pi * to * (1 - (4 * beta * to) ** 2))
    h[at_zero] = 1 - beta + 4 * beta / np.pi
    a = np.pi / (4 * beta)
    h[at_sing] = (
        beta / np.sqrt(2) * ((1 + 2 / np.pi) * np.sin(a) + (1 - 2 / np.pi) * np.cos(a))
    )
    return h / np.sqrt(np.sum(h**2))


def default_preamble() -> np.ndarray:
    """The 64-symbol BPSK preamble of the module docstring (unit energy).

    Returns
    -------
    complex128 array, shape (64,)
    """
    a = [1] * 6
    while len(a) < 63:
        a.append(a[-6] ^ a[-1])
    chips = 1.0 - 2.0 * np.array(a + a[:1], dtype=float)
    return chips.astype(np.complex128)


@dataclass(eq=False)
class FrameFormat:
    """Framing and pulse-shaping parameters shared by transmitter and receiver.

    Parameters
    ----------
    sps : int
        Samples per symbol, >= 2.
    rolloff : float
        RRC excess bandwidth, ``0 < rolloff <= 1``.
    span : int
        RRC length in symbols, >= 2.
    pilot_spacing : int
        One pilot after every ``pilot_spacing`` data symbols (0: no pilots, the phase
        is then held at its preamble/header value over the payload).
    guard : int
        Zero samples :func:`build_stream` puts before, between and after bursts.
    preamble : complex array or None
        The preamble symbols; None is :func:`default_preamble`. Any other sequence (at
        least 16 symbols, constant modulus works best) is scaled to unit energy.
    """

    sps: int = 4
    rolloff: float = 0.35
    span: int = 11
    pilot_spacing: int = 32
    guard: int = 128
    preamble: np.ndarray | None = field(default=None, repr=False)

    def __post_init__(self):
        self.sps = _check_int(self.sps, "sps", 2)
        self.span = _check_int(self.span, "span", 2)
        self.pilot_spacing = _check_int(self.pilot_spacing, "pilot_spacing", 0)
        self.guard = _check_int(self.guard, "guard", 0)
        self.taps = rrc_taps(self.sps, self.rolloff, self.span)  # validates rolloff
        self.rolloff = float(self.rolloff)
        pre = default_preamble() if self.preamble is None else self.preamble
        pre = np.asarray(pre, dtype=np.complex128).reshape(-1)
        if pre.size < 16 or not np.all(np.isfinite(pre)) or not np.any(pre):
            raise ValueError(
                "preamble: expected at least 16 finite, not all zero symbols"
            )
        self.preamble = pre / np.sqrt(np.mean(np.abs(pre) ** 2))

    @property
    def half(self) -> int:
        """Half length ``h`` of the RRC in samples (its delay)."""
        return (self.taps.size - 1) // 2

    @property
    def n_preamble(self) -> int:
        """Number of preamble symbols."""
        return int(self.preamble.size)

    def pilot(self, count: int) -> np.ndarray:
        """The first ``count`` pilot symbols (see the module docstring)."""
        chips = self.preamble[np.arange(count) % self.n_preamble]
        chips = chips / np.abs(chips)
        return chips * (1 + 1j) / np.sqrt(2)

    def n_data_symbols(self, n_bytes: int, modulation: str) -> int:
        """Data symbols for ``n_bytes`` payload bytes (CRC-32 and padding included)."""
        bps = int(np.log2(order_of(modulation)))
        return -(-8 * (n_bytes + PAYLOAD_CRC_BYTES) // bps)

    def n_pilots(self, n_data: int) -> int:
        """Pilots inserted among ``n_data`` data symbols."""
        return 0 if self.pilot_spacing == 0 else -(-n_data // self.pilot_spacing)

    def payload_layout(self, n_data: int) -> tuple[np.ndarray, np.ndarray]:
        """Positions of the data and pilot symbols within the payload section.

        Returns
        -------
        data_pos, pilot_pos : int arrays
            Indices counted from the first payload symbol.
        """
        k = self.pilot_spacing
        if k == 0:
            return np.arange(n_data), np.zeros(0, dtype=int)
        i = np.arange(n_data)
        data_pos = i + i // k
        n_p = self.n_pilots(n_data)
        pilot_pos = np.minimum((np.arange(n_p) + 1) * k, n_data) + np.arange(n_p)
        return data_pos, pilot_pos

    def burst_symbols(self, n_bytes: int, modulation: str) -> int:
        """Total symbols of a burst: preamble, header, data and pilots."""
        n_data = self.n_data_symbols(n_bytes, modulation)
        return self.n_preamble + HEADER_SYMBOLS + n_data + self.n_pilots(n_data)

    def burst_samples(self, n_bytes: int, modulation: str) -> int:
        """Samples of a burst from :func:`build_burst`, filter tails included."""
        return (self.burst_symbols(n_bytes, modulation) - 1) * self.sps + self.taps.size


# ---------------------------------------------------------------------------- header


@dataclass
class Header:
    """The burst header fields.

    Parameters
    ----------
    length : int
        Payload length in bytes, 0..65535.
    modulation : str
        ``qpsk``, ``16qam`` or ``64qam``.
    pmf_id : int
        Shaping distribution id, 0..255 (0 = uniform; others the application's).
    seq : int
        Sequence number, 0..65535.
    """

    length: int
    modulation: str
    pmf_id: int = 0
    seq: int = 0

    def __post_init__(self):
        self.length = _check_int(self.length, "length", 0, MAX_PAYLOAD_BYTES)
        self.modulation = Constellation.named(self.modulation).name
        self.pmf_id = _check_int(self.pmf_id, "pmf_id", 0, 255)
        self.seq = _check_int(self.seq, "seq", 0, 65535)

    def pack(self) -> bytes:
        """The 8 header bytes, CRC-16 included."""
        body = bytes(
            [
                (HEADER_VERSION << 4) | MODULATION_IDS[self.modulation],
                self.pmf_id,
                *self.length.to_bytes(2, "big"),
                *self.seq.to_bytes(2, "big"),
            ]
        )
        return body + crc16_ccitt(body).to_bytes(2, "big")

    @classmethod
    def unpack(cls, data: bytes) -> Header | None:
        """Parse 8 header bytes; None when the CRC, the version or the modulation is bad.

        Parameters
        ----------
        data : bytes
            Exactly :data:`HEADER_BYTES` bytes.

        Returns
        -------
        Header or None
        """
        data = bytes(data)
        if len(data) != HEADER_BYTES:
            raise ValueError(f"data: expected {HEADER_BYTES} bytes, got {len(data)}")
        if crc16_ccitt(data[:6]) != int.from_bytes(data[6:8], "big"):
            log.debug("header CRC-16 mismatch")
            return None
        version, mod_id = data[0] >> 4, data[0] & 0x0F
        names = {v: k for k, v in MODULATION_IDS.items()}
        if version != HEADER_VERSION or mod_id not in names:
            log.debug(
                "header version %d / modulation id %d not supported", version, mod_id
            )
            return None
        return cls(
            length=int.from_bytes(data[2:4], "big"),
            modulation=names[mod_id],
            pmf_id=data[1],
            seq=int.from_bytes(data[4:6], "big"),
        )


def _bpsk(bits: np.ndarray) -> np.ndarray:
    return (1.0 - 2.0 * np.asarray(bits, dtype=float)).astype(np.complex128)


# ------------------------------------------------------------------------ transmitter


def pulse_shape(symbols: np.ndarray, fmt: FrameFormat) -> np.ndarray:
    """Upsample by ``fmt.sps`` and RRC-filter, tails included.

    Parameters
    ----------
    symbols : complex array, shape (n,)
    fmt : FrameFormat

    Returns
    -------
    complex128 array, shape ((n - 1) sps + 2 h + 1,)
        Symbol ``k`` peaks at sample ``h + k sps``.
    """
    symbols = np.asarray(symbols, dtype=np.complex128).reshape(-1)
    if symbols.size == 0:
        return np.zeros(0, dtype=np.complex128)
    up = np.zeros((symbols.size - 1) * fmt.sps + 1, dtype=np.complex128)
    up[:: fmt.sps] = symbols
    return np.convolve(up, fmt.taps)


def build_burst(
    payload: bytes,
    fmt: FrameFormat | None = None,
    modulation: str = "qpsk",
    pmf_id: int = 0,
    seq: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Frame one payload and pulse-shape it.

    Parameters
    ----------
    payload : bytes
        At most 65535 bytes.
    fmt : FrameFormat or None
        None is ``FrameFormat()``.
    modulation : str
        ``qpsk``, ``16qam`` or ``64qam``.
    pmf_id : int
        Shaping id sent in the header, 0..255.
    seq : int
        Sequence number sent in the header, 0..65535.

    Returns
    -------
    symbols : complex128 array
        Preamble, header and payload with pilots (:meth:`FrameFormat.burst_symbols`).
    samples : complex128 array
        The RRC-shaped burst (:func:`pulse_shape`).
    """
    fmt = FrameFormat() if fmt is None else fmt
    payload = bytes(payload)
    header = Header(len(payload), modulation, pmf_id, seq)
    const = Constellation.named(modulation)
    body = payload + crc32(payload).to_bytes(PAYLOAD_CRC_BYTES, "big")
    bits = bytes_to_bits(body)
    pad = (-bits.size) % const.bits_per_symbol
    bits = np.concatenate([bits, np.zeros(pad, dtype=np.uint8)])
    data = const.map(const.bits_to_symbols(bits))

    data_pos, pilot_pos = fmt.payload_layout(data.size)
    section = np.empty(data.size + pilot_pos.size, dtype=np.complex128)
    section[data_pos] = data
    section[pilot_pos] = fmt.pilot(pilot_pos.size)
    symbols = np.concatenate([fmt.preamble, _bpsk(bytes_to_bits(header.pack())), section])
    return symbols, pulse_shape(symbols, fmt)


def build_stream(
    payloads: Sequence[bytes],
    fmt: FrameFormat | None = None,
    modulation: str = "qpsk",
    pmf_id: int = 0,
    seq0: int = 0,
) -> tuple[np.ndarray, list[int]]:
    """Several bursts in one stream, ``fmt.guard`` zeros before, between and after.

    Parameters
    ----------
    payloads : sequence of bytes
    fmt : FrameFormat or None
    modulation : str
    pmf_id : int
    seq0 : int
        Sequence number of the first burst; the next ones count up (mod 65536).

    Returns
    -------
    samples : complex128 array
    starts : list of int
        Index of each burst's first sample.
    """
    fmt = FrameFormat() if fmt is None else fmt
    gap = np.zeros(fmt.guard, dtype=np.complex128)
    parts, starts, pos = [gap], [], fmt.guard
    for i, payload in enumerate(payloads):
        _, samples = build_burst(payload, fmt, modulation, pmf_id, (seq0 + i) % 65536)
        starts.append(pos)
        parts += [samples, gap]
        pos += samples.size + gap.size
    return np.concatenate(parts), starts


# --------------------------------------------------------------------------- receiver


def matched_filter(samples: np.ndarray, fmt: FrameFormat) -> np.ndarray:
    """RRC matched filter, output aligned with the input (same length).

    Parameters
    ----------
    samples : complex array
    fmt : FrameFormat

    Returns
    -------
    complex128 array, same length as ``samples``
        A pulse peaking at input sample ``c`` peaks at output sample ``c``.
    """
    x = np.asarray(samples, dtype=np.complex128).reshape(-1)
    if x.size == 0:
        return x.copy()
    return np.convolve(x, fmt.taps)[fmt.half : fmt.half + x.size]


def preamble_metric(mf: np.ndarray, fmt: FrameFormat) -> tuple[np.ndarray, np.ndarray]:
    """Differential normalized cross-correlation with the preamble (module docstring).

    Parameters
    ----------
    mf : complex array
        Matched-filter output (:func:`matched_filter`).
    fmt : FrameFormat

    Returns
    -------
    metric : float array, shape (len(mf) - (P - 1) sps,) (empty if shorter)
        ``metric[t]`` in [0, 1] for the preamble's first symbol at ``mf[t]``.
    corr : complex array, same shape
        The differential correlation; its phase is ``2 pi`` times the CFO in cycles
        per symbol.
    """
    mf = np.asarray(mf, dtype=np.complex128).reshape(-1)
    sps, p = fmt.sps, fmt.preamble
    n_terms = p.size - 1
    n_out = mf.size - n_terms * sps
    if n_out <= 0:
        empty = np.zeros(0)
        return empty, empty.astype(np.complex128)
    q = p[1:] * np.conj(p[:-1])
    q = q / np.abs(q)
    d = mf[sps:] * np.conj(mf[:-sps])  # d[n] pairs mf[n + sps] with mf[n]
    f = np.zeros((n_terms - 1) * sps + 1, dtype=np.complex128)
    f[::sps] = np.conj(q)
    corr = oaconvolve(d, f[::-1], mode="valid")
    energy = oaconvolve(np.abs(d) ** 2, np.abs(f[::-1]), mode="valid").real
    floor = 1e-12 * max(float(np.max(energy, initial=0.0)), 1e-300)
    metric = np.abs(corr) / np.sqrt(n_terms * np.maximum(energy, floor))
    return np.minimum(metric[:n_out], 1.0), corr[:n_out]


@dataclass
class Detection:
    """A preamble found by :func:`detect_preambles`.

    Attributes
    ----------
    index : int
        Matched-filter (and input) sample where the first preamble symbol peaks.
    frac : float
        Fractional timing in samples, in [-0.5, 0.5]: the peak is at ``index + frac``.
    metric : float
        Detection metric at ``index``.
    cfo_per_symbol : float
        Coarse CFO in cycles per symbol.
    """

    index: int
    frac: float
    metric: float
    cfo_per_symbol: float


def detect_preambles(
    mf: np.ndarray,
    fmt: FrameFormat,
    threshold: float = DEFAULT_THRESHOLD,
    limit: int | None = None,
) -> list[Detection]:
    """Find every preamble in a matched-filter output.

    Parameters
    ----------
    mf : complex array
        :func:`matched_filter` output.
    fmt : FrameFormat
    threshold : float
        Metric threshold in (0, 1); see the module docstring.
    limit : int or None
        Only report peaks at indices below ``limit`` (a streaming caller defers those
        near the end of its buffer).

    Returns
    -------
    list of Detection
        In increasing index order, at least one preamble length apart (the stronger
        of two closer peaks is kept).
    """
    if not 0.0 < float(threshold) < 1.0:
        raise ValueError(f"threshold: expected 0 < threshold < 1, got {threshold!r}")
    metric, corr = preamble_metric(mf, fmt)
    above = np.flatnonzero(metric > threshold)
    if above.size == 0:
        return []
    sps = fmt.sps
    breaks = np.flatnonzero(np.diff(above) > sps) + 1
    peaks: list[int] = []
    for cluster in np.split(above, breaks):
        i = int(cluster[0] + np.argmax(metric[cluster[0] : cluster[-1] + 1]))
        if peaks and i - peaks[-1] < fmt.n_preamble * sps:
            if metric[i] > metric[peaks[-1]]:
                peaks[-1] = i
            continue
        peaks.append(i)
    out = []
    for i in peaks:
        if limit is not None and i >= limit:
            break
        frac = 0.0
        if 0 < i < metric.size - 1:
            a, b, c = metric[i - 1], metric[i], metric[i + 1]
            den = a - 2 * b + c
            if den < 0:
                frac = float(np.clip(0.5 * (a - c) / den, -0.5, 0.5))
        cfo = float(np.angle(corr[i]) / (2 * np.pi))
        out.append(Detection(i, frac, float(metric[i]), cfo))
    return out


@dataclass
class BurstResult:
    """What the receiver found for one burst.

    Attributes
    ----------
    start : int
        Input sample of the burst's first sample (the preamble's first peak is
        ``start + h``).
    timing : float
        The same with its fractional part (samples).
    metric : float
        Detection metric.
    cfo_per_sample, cfo_per_symbol : float
        CFO estimate in cycles per sample and per symbol.
    snr_db : float
        Es/N0 estimate from the known-symbol fit (preamble, and header and pilots when
        the header decoded).
    complete : bool
        False when the samples end inside the burst (the burst is lost).
    header_ok : bool
        Header CRC and fields valid.
    header : Header or None
    symbols : complex array
        Equalized data symbols (pilots removed) at the nominal unit-energy scale,
        before the denoiser; empty without a header.
    denoised : complex array
        The same after the denoiser (``symbols`` when there is none); the decisions
        are taken on these.
    indices : int array or None
        Decisions.
    payload : bytes or None
        Decoded payload (CRC removed), None without a header.
    crc_ok : bool
        Payload CRC-32 valid.
    phase : float
        Common phase of the equalizer's main tap (rad).
    eq : complex array
        Equalizer taps.
    eq_delay : int
        Equalizer decision delay in symbols.
    n_samples : int
        Burst length in samples (0 when the header is unknown).
    """

    start: int
    timing: float
    metric: float
    cfo_per_sample: float
    cfo_per_symbol: float
    snr_db: float
    complete: bool = True
    header_ok: bool = False
    header: Header | None = None
    symbols: np.ndarray = field(default_factory=lambda: np.zeros(0, np.complex128))
    denoised: np.ndarray = field(default_factory=lambda: np.zeros(0, np.complex128))
    indices: np.ndarray | None = None
    payload: bytes | None = None
    crc_ok: bool = False
    phase: float = 0.0
    eq: np.ndarray = field(default_factory=lambda: np.zeros(0, np.complex128))
    eq_delay: int = 0
    n_samples: int = 0

    @property
    def modulation(self) -> str | None:
        """Modulation from the header (None without one)."""
        return self.header.modulation if self.header else None

    @property
    def seq(self) -> int | None:
        """Sequence number from the header (None without one)."""
        return self.header.seq if self.header else None

    @property
    def pmf_id(self) -> int | None:
        """Shaping id from the header (None without one)."""
        return self.header.pmf_id if self.header else None

    def to_annotation(self, label: str = "burst") -> dict:
        """This result as an annotation dict for :func:`wigenai.sigmf_io.add_annotations`.

        Returns
        -------
        dict
            ``start``, ``length``, ``label``, ``comment`` and the receiver's fields
            (``crc_ok``, ``header_ok``, ``complete``, ``snr_db``, ``cfo_per_symbol``,
            ``seq``, ``modulation``, ``pmf_id``, ``length_bytes``).
        """
        state = (
            "crc ok" if self.crc_ok else "header ok" if self.header_ok else "no header"
        )
        ann = {
            "start": int(max(self.start, 0)),
            "length": int(self.n_samples),
            "label": label,
            "comment": f"{state}, snr {self.snr_db:.1f} dB",
            "crc_ok": bool(self.crc_ok),
            "header_ok": bool(self.header_ok),
            "complete": bool(self.complete),
            "snr_db": round(float(self.snr_db), 3),
            "cfo_per_symbol": float(self.cfo_per_symbol),
        }
        if self.header is not None:
            ann.update(
                seq=self.header.seq,
                modulation=self.header.modulation,
                pmf_id=self.header.pmf_id,
                length_bytes=self.header.length,
            )
        return ann


def _extract(
    samples: np.ndarray, det: Detection, fmt: FrameFormat, k0: int, k1: int
) -> np.ndarray:
    """Symbols ``k0 <= k < k1`` (k = 0 first preamble symbol) after CFO derotation and
    the matched filter at the detection's fractional timing; zeros beyond the input."""
    sps, half = fmt.sps, fmt.half
    a = det.index + k0 * sps - half
    b = det.index + (k1 - 1) * sps + half + 1
    seg = np.zeros(b - a, dtype=np.complex128)
    lo, hi = max(a, 0), min(b, samples.size)
    if hi > lo:
        seg[lo - a : hi - a] = samples[lo:hi]
    f = det.cfo_per_symbol / sps
    seg *= np.exp(-2j * np.pi * f * (np.arange(a, b) - det.index))
    h = rrc_taps(sps, fmt.rolloff, fmt.span, shift=det.frac)
    full = np.convolve(seg, h)
    return full[2 * half : 2 * half + (k1 - k0) * sps : sps]


def _windows(y: np.ndarray, margin: int, ks: np.ndarray, n_taps: int, delay: int):
    """Rows ``[y_{k+D}, y_{k+D-1}, ..., y_{k+D-L+1}]`` for the symbols ``ks``."""
    idx = margin + ks[:, None] + delay - np.arange(n_taps)[None, :]
    return y[idx]


def fit_equalizer(
    y: np.ndarray, margin: int, ks: np.ndarray, known: np.ndarray, n_taps: int
) -> tuple[np.ndarray, int, float]:
    """Least-squares symbol-spaced FIR equalizer, best decision delay.

    Parameters
    ----------
    y : complex array
        Symbol-rate samples; ``y[margin + k]`` is symbol ``k``.
    margin : int
        Samples of ``y`` before symbol 0 and after the last one, >= ``n_taps``.
    ks : int array
        Symbols with known values.
    known : complex array
        Their values.
    n_taps : int
        Equalizer length.

    Returns
    -------
    w : complex array, shape (n_taps,)
    delay : int
        Decision delay ``D``: ``x_k = sum_j w_j y_{k + D - j}``.
    residual : float
        Sum of squared errors on the known symbols.
    """
    best = None
    for delay in range(n_taps):
        a = _windows(y, margin, ks, n_taps, delay)
        w, *_ = np.linalg.lstsq(a, known, rcond=None)
        res = float(np.sum(np.abs(a @ w - known) ** 2))
        if best is None or res < best[2]:
            best = (w, delay, res)
    return best


def apply_equalizer(y: np.ndarray, margin: int, n: int, w: np.ndarray, delay: int):
    """Equalizer output for symbols ``0..n-1`` (see :func:`fit_equalizer`)."""
    return np.convolve(y, w)[margin + delay : margin + delay + n]


def _smooth_phase(pos: np.ndarray, u: np.ndarray, n: int, width: int) -> np.ndarray:
    """Angle of the triangular-window average of phasors ``u`` at ``pos``, for 0..n-1."""
    s = np.zeros(n, dtype=np.complex128)
    np.add.at(s, pos, u)
    kernel = 1.0 - np.abs(np.arange(-width, width + 1)) / (width + 1)
    avg = np.convolve(s, kernel)[width : width + n]
    have = np.abs(avg) > 0
    theta = np.unwrap(np.angle(avg[have]))
    return np.interp(np.arange(n), np.flatnonzero(have), theta)


def _pad(theta: np.ndarray, margin: int) -> np.ndarray:
    """A per-symbol track extended by its end values over ``margin`` symbols each side."""
    return np.concatenate([np.full(margin, theta[0]), theta, np.full(margin, theta[-1])])


def _local_linear(pos: np.ndarray, phi: np.ndarray, n: int, width: int) -> np.ndarray:
    """Local-linear triangular-window regression of values ``phi`` at ``pos``."""
    d = np.arange(-width, width + 1)
    kernel = 1.0 - np.abs(d) / (width + 1)
    ind = np.zeros(n)
    val = np.zeros(n)
    np.add.at(ind, pos, 1.0)
    np.add.at(val, pos, phi)

    def conv(x, k):
        # sum_k w(k - t) (k - t)^m x_k: correlate with the kernel times d^m
        return np.convolve(x, (k * 1.0)[::-1])[width : width + n]

    s0, s1, s2 = conv(ind, kernel), conv(ind, kernel * d), conv(ind, kernel * d**2)
    t0, t1 = conv(val, kernel), conv(val, kernel * d)
    det = s0 * s2 - s1**2
    out = np.where(s0 > 0, t0 / np.where(s0 > 0, s0, 1.0), np.nan)
    good = det > 1e-9 * np.maximum(s0 * s2, 1e-300)
    out[good] = (s2[good] * t0[good] - s1[good] * t1[good]) / det[good]
    have = np.isfinite(out)
    return np.interp(np.arange(n), np.flatnonzero(have), out[have])


def demodulate_burst(
    samples: np.ndarray,
    det: Detection,
    fmt: FrameFormat,
    denoise: Denoiser | None = None,
    eq_taps: int = DEFAULT_EQ_TAPS,
    track_window: int | None = None,
    decision_directed: bool = True,
) -> BurstResult:
    """Demodulate one burst from its detection (steps 4-10 of the module docstring).

    Parameters
    ----------
    samples : complex array
        The raw input (not matched-filtered) the detection indexes.
    det : Detection
    fmt : FrameFormat
    denoise : callable or None
        ``denoise(symbols, modulation, snr_db) -> symbols`` applied to the equalized
        data symbols before the decisions (for instance :func:`ddpm_denoise`); None
        decides on the equalized symbols.
    eq_taps : int
        Equalizer length in symbols, >= 1.
    track_window : int or None
        Half width of the phase-tracking window in symbols; None is
        ``4 (pilot_spacing + 1)`` (``P`` without pilots).
    decision_directed : bool
        Refine the phase track and the equalizer on every symbol, the data symbols
        by their tentative nearest-neighbour decisions (step 8b of the module
        docstring).

    Returns
    -------
    BurstResult
        ``start`` is relative to ``samples``.
    """
    samples = np.asarray(samples, dtype=np.complex128).reshape(-1)
    eq_taps = _check_int(eq_taps, "eq_taps", 1)
    k_spacing = fmt.pilot_spacing
    if track_window is None:
        track_window = 4 * (k_spacing + 1) if k_spacing else fmt.n_preamble
    track_window = _check_int(track_window, "track_window", 1)
    sps, half, pre = fmt.sps, fmt.half, fmt.preamble
    n_pre, n_ph = pre.size, pre.size + HEADER_SYMBOLS
    margin = eq_taps + 1
    timing = det.index + det.frac - half
    result = BurstResult(
        start=int(round(timing)),
        timing=float(timing),
        metric=det.metric,
        cfo_per_sample=det.cfo_per_symbol / sps,
        cfo_per_symbol=det.cfo_per_symbol,
        snr_db=float("nan"),
    )

    def end_sample(n_sym):  # last input sample the burst occupies
        return det.index + (n_sym - 1) * sps + half

    # Preamble and header.
    y = _extract(samples, det, fmt, -margin, n_ph + margin)
    z = y[margin : margin + n_pre] * np.conj(pre)
    h2 = n_pre // 2
    dphi = np.angle(np.sum(z[h2 : 2 * h2]) * np.conj(np.sum(z[:h2])))
    fine = float(dphi / (2 * np.pi * h2))  # cycles per symbol

    def derotate(yy):
        k = np.arange(yy.size) - margin
        return yy * np.exp(-2j * np.pi * fine * k)

    y = derotate(y)
    ks = np.arange(n_pre)
    w, delay, res = fit_equalizer(y, margin, ks, pre, eq_taps)
    x = apply_equalizer(y, margin, n_ph, w, delay)
    result.cfo_per_symbol = det.cfo_per_symbol + fine
    result.cfo_per_sample = result.cfo_per_symbol / sps
    result.snr_db = _snr_db(x[:n_pre], pre, eq_taps)
    result.eq, result.eq_delay = w, delay
    result.phase = float(np.angle(w[delay]) if w.size else 0.0)
    if end_sample(n_ph) >= samples.size:
        result.complete = False
        return result

    hdr_bits = (x[n_pre:n_ph].real < 0).astype(np.uint8)
    header = Header.unpack(bits_to_bytes(hdr_bits))
    if header is None:
        return result
    result.header_ok, result.header = True, header
    n_data = fmt.n_data_symbols(header.length, header.modulation)
    data_pos, pilot_pos = fmt.payload_layout(n_data)
    n_sym = n_ph + n_data + pilot_pos.size
    result.n_samples = (n_sym - 1) * sps + 2 * half + 1
    if end_sample(n_sym) >= samples.size:
        result.complete = False
        return result

    # Whole burst: known symbols, phase tracking, equalizer refit.
    y = derotate(_extract(samples, det, fmt, -margin, n_sym + margin))
    known_pos = np.concatenate([np.arange(n_ph), n_ph + pilot_pos])
    known = np.concatenate(
        [pre, _bpsk(bytes_to_bits(header.pack())), fmt.pilot(pilot_pos.size)]
    )
    x = apply_equalizer(y, margin, n_sym, w, delay)
    theta_a = _smooth_phase(known_pos, x[known_pos] * np.conj(known), n_sym, track_window)
    y = y * np.exp(-1j * _pad(theta_a, margin))
    w, delay, res = fit_equalizer(y, margin, known_pos, known, eq_taps)
    x = apply_equalizer(y, margin, n_sym, w, delay)
    resid = np.angle(x[known_pos] * np.conj(known))
    theta_b = _local_linear(known_pos, resid, n_sym, track_window)
    x = x * np.exp(-1j * theta_b)
    theta = theta_a + theta_b

    if decision_directed:
        # Pilots are one symbol in K + 1: phase and equalizer fitted on them alone
        # carry their noise into every data symbol (about 0.7 dB at 12 dB Es/N0).
        # Tentative decisions make every symbol a reference; a decision error costs
        # little here, since the estimates average over many symbols.
        const = Constellation.named(header.modulation)
        data_idx = n_ph + data_pos
        gain = np.real(np.vdot(known, x[known_pos])) / np.real(np.vdot(known, known))
        ref = np.empty(n_sym, dtype=np.complex128)
        ref[known_pos] = known
        ref[data_idx] = const.points[const.nearest(x[data_idx] / max(gain, 1e-12))]
        every = np.arange(n_sym)
        theta_c = _smooth_phase(every, x * np.conj(ref), n_sym, track_window)
        theta = theta + theta_c
        # y already carries the first track's correction (theta_a); add the rest.
        y = y * np.exp(-1j * _pad(theta - theta_a, margin))
        w, delay, res = fit_equalizer(y, margin, every, ref, eq_taps)
        x = apply_equalizer(y, margin, n_sym, w, delay)

    gain = np.real(np.vdot(known, x[known_pos])) / np.real(np.vdot(known, known))
    if gain > 0:
        x = x / gain
    slope = np.polyfit(np.arange(n_sym), theta, 1)[0] / (2 * np.pi)
    result.cfo_per_symbol = det.cfo_per_symbol + fine + float(slope)
    result.cfo_per_sample = result.cfo_per_symbol / sps
    result.snr_db = _snr_db(x[known_pos], known, eq_taps)
    result.eq, result.eq_delay = w, delay
    result.phase = float(np.angle(w[delay]))

    symbols = x[n_ph + data_pos]
    denoised = symbols
    if denoise is not None:
        denoised = np.asarray(
            denoise(symbols, header.modulation, result.snr_db), dtype=np.complex128
        )
        if denoised.shape != symbols.shape:
            raise ValueError(
                f"denoise: returned shape {denoised.shape}, expected {symbols.shape}"
            )
    result.symbols, result.denoised = symbols, denoised
    result.indices, result.payload, result.crc_ok = decode_payload(denoised, header)
    return result


def decode_payload(symbols: np.ndarray, header: Header) -> tuple[np.ndarray, bytes, bool]:
    """Decide a burst's data symbols and check its payload CRC.

    Parameters
    ----------
    symbols : complex array
        The burst's data symbols (pilots removed) at the nominal unit-energy scale,
        ``FrameFormat.n_data_symbols(header.length, header.modulation)`` of them.
    header : Header
        The burst's header (modulation and payload length).

    Returns
    -------
    indices : int64 array
        Nearest-neighbour decisions (Gray labels).
    payload : bytes
        ``header.length`` bytes.
    crc_ok : bool
        Whether the CRC-32 after the payload matches it.
    """
    symbols = np.asarray(symbols, dtype=np.complex128).reshape(-1)
    const = Constellation.named(header.modulation)
    n_bits = 8 * (header.length + PAYLOAD_CRC_BYTES)
    if symbols.size * const.bits_per_symbol < n_bits:
        raise ValueError(
            f"symbols: {symbols.size} {header.modulation} symbols carry fewer than the "
            f"{n_bits} bits of a {header.length}-byte payload and its CRC"
        )
    finite = np.where(np.isfinite(symbols), symbols, 0.0)
    indices = nearest_decide(finite, header.modulation)
    body = bits_to_bytes(const.symbols_to_bits(indices)[:n_bits])
    payload, check = body[: header.length], body[header.length :]
    return indices, payload, crc32(payload) == int.from_bytes(check, "big")


def _snr_db(x: np.ndarray, known: np.ndarray, n_fit: int) -> float:
    err = float(np.sum(np.abs(x - known) ** 2))
    dof = max(known.size - n_fit, 1)
    es = float(np.mean(np.abs(known) ** 2))
    if err <= 0:
        return float("inf")
    return 10.0 * math.log10(es * dof / err)


class BurstReceiver:
    """Find and demodulate every burst in a stream of samples.

    Parameters
    ----------
    fmt : FrameFormat or None
        None is ``FrameFormat()``.
    threshold : float
        Detection threshold (:func:`detect_preambles`).
    eq_taps : int
        Equalizer length in symbols.
    track_window : int or None
        Phase-tracking half width (:func:`demodulate_burst`).
    denoise : callable or None
        ``denoise(symbols, modulation, snr_db) -> symbols`` before the decisions
        (:func:`demodulate_burst`); None decides on the equalized symbols.
    max_payload : int
        Largest payload (bytes) :meth:`push` keeps samples for; a longer burst is lost.
    decision_directed : bool
        Decision-directed refinement of phase and equalizer (:func:`demodulate_burst`).

    Attributes
    ----------
    lost : int
        Bursts cut off by the end of the samples (``complete=False`` results).
    bursts : int
        Results returned so far.
    """

    def __init__(
        self,
        fmt: FrameFormat | None = None,
        threshold: float = DEFAULT_THRESHOLD,
        eq_taps: int = DEFAULT_EQ_TAPS,
        track_window: int | None = None,
        denoise: Denoiser | None = None,
        max_payload: int = 4096,
        decision_directed: bool = True,
    ):
        self.fmt = FrameFormat() if fmt is None else fmt
        self.decision_directed = bool(decision_directed)
        if not 0.0 < float(threshold) < 1.0:
            raise ValueError(f"threshold: expected 0 < threshold < 1, got {threshold!r}")
        self.threshold = float(threshold)
        self.eq_taps = _check_int(eq_taps, "eq_taps", 1)
        self.track_window = track_window
        self.denoise = denoise
        self.max_payload = _check_int(max_payload, "max_payload", 0, MAX_PAYLOAD_BYTES)
        self.lost = 0
        self.bursts = 0
        self.reset()

    def reset(self) -> None:
        """Forget the streaming buffer (counters are kept)."""
        self._buf = np.zeros(0, dtype=np.complex128)
        self._base = 0  # absolute index of _buf[0]
        self._pos = 0  # absolute index before which no new burst may start
        self._need = 0  # absolute length the buffer must reach before the next scan

    def _scan(self, buf: np.ndarray, base: int, pos: int, final: bool):
        """Scan ``buf``; returns (results, next pos, absolute index of a pending burst's
        first needed sample or None, absolute buffer length it needs)."""
        fmt, sps = self.fmt, self.fmt.sps
        mf = matched_filter(buf, fmt)
        window = (fmt.n_preamble - 1) * sps + 1
        limit = None if final else max(buf.size - window - 2 * sps, 0)
        dets = detect_preambles(mf, fmt, self.threshold, limit=limit)
        results = []
        local_pos = pos - base
        for det in dets:
            if det.index < local_pos:
                continue
            res = demodulate_burst(
                buf,
                det,
                fmt,
                self.denoise,
                self.eq_taps,
                self.track_window,
                self.decision_directed,
            )
            if not res.complete and not final:
                n_sym = (
                    fmt.burst_symbols(res.header.length, res.header.modulation)
                    if res.header_ok
                    else fmt.n_preamble + HEADER_SYMBOLS
                )
                too_long = res.header_ok and res.header.length > self.max_payload
                if not too_long:
                    need = base + det.index + (n_sym - 1 + self.eq_taps + 2) * sps
                    need += fmt.half + 1
                    keep = base + det.index - (self.eq_taps + 3) * sps - 2 * fmt.half
                    self.bursts += len(results)
                    return results, base + det.index, keep, need
            res.start += base
            res.timing += base
            if not res.complete:
                self.lost += 1
                log.info(
                    "burst at sample %d cut off by the end of the samples", res.start
                )
            if res.header_ok and res.complete:
                local_pos = det.index + (res.n_samples - 2 * fmt.half) + sps
            else:
                local_pos = det.index + fmt.n_preamble * sps
            results.append(res)
            log.debug(
                "burst at %d: metric %.2f cfo %.4f/sym snr %.1f dB header %s crc %s",
                res.start,
                res.metric,
                res.cfo_per_symbol,
                res.snr_db,
                res.header_ok,
                res.crc_ok,
            )
        self.bursts += len(results)
        return results, base + local_pos, None, 0

    def process(self, samples: np.ndarray) -> list[BurstResult]:
        """Every burst in one buffer (independent of the streaming state).

        Parameters
        ----------
        samples : complex array
            Raw received samples.

        Returns
        -------
        list of BurstResult
            In time order; ``start`` indexes ``samples``. Bursts cut off by the end of
            the buffer come back with ``complete=False`` and count in :attr:`lost`.
        """
        x = np.asarray(samples, dtype=np.complex128).reshape(-1)
        results, *_ = self._scan(x, 0, 0, final=True)
        return results

    def push(self, samples: np.ndarray) -> list[BurstResult]:
        """Streaming: append ``samples`` and return the bursts completed so far.

        A burst that runs past the end of what has been pushed is kept for the next
        call; ``start`` counts samples from the first ever pushed (since
        :meth:`reset`).

        Parameters
        ----------
        samples : complex array

        Returns
        -------
        list of BurstResult
        """
        x = np.asarray(samples, dtype=np.complex128).reshape(-1)
        self._buf = np.concatenate([self._buf, x])
        end = self._base + self._buf.size
        if end < self._need:
            return []
        results, pos, keep, need = self._scan(self._buf, self._base, self._pos, False)
        self._pos = pos
        self._need = need
        if keep is None:
            fmt = self.fmt
            tail = fmt.n_preamble * fmt.sps + (self.eq_taps + 6) * fmt.sps + 4 * fmt.half
            keep = max(
                end - tail, min(pos, end) - (self.eq_taps + 3) * fmt.sps - 2 * fmt.half
            )
        keep = min(max(keep, self._base), end)
        self._buf = self._buf[keep - self._base :]
        self._base = keep
        return results

    def flush(self) -> list[BurstResult]:
        """End of stream: return what is left, a cut-off burst as lost."""
        results, *_ = self._scan(self._buf, self._base, self._pos, final=True)
        self.reset()
        return results
