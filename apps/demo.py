"""``make demo``: the module's main job on the shipped models.

1. ``apps/loopback_headless.grc`` (GNU Radio's random source, mapper and decoder around
   the module's impaired-link block) for QPSK and 16-QAM, on an ideal link and on the
   default impaired link: measured BER beside the closed form and the library's MAP.
2. Case study 1 (the paper's Fig. 3): ``wigenai ber`` with the DDPM receiver, the
   autoencoder benchmark, MAP and nearest neighbour, QPSK, -25 to -5 dB, AWGN and
   Laplacian noise; the same for 16-QAM beside the bitwise MAP bound; written to
   ``out/`` as JSON and plots.
3. ``apps/loopback_ddpm.grc``: the shipped DDPM denoiser block in a running
   flowgraph beside GNU Radio's conventional decoder.
4. Case study 2 (the paper's Fig. 4, short): ``wigenai mi`` for 16-QAM and 64-QAM,
   every shaper beside log2(1 + SNR), and ``apps/loopback_shaped.grc`` carrying
   random bits through the distribution matcher, the link, the DDPM denoiser and
   the dematcher.
5. The burst link: ``apps/burst_loopback.grc`` (carrier, sampling and timing
   offsets, 3-tap multipath, phase noise, the impaired front end) with the burst
   receiver, the conventional and the DDPM decoders, at three Es/N0; its SigMF
   recording replayed offline with ``wigenai replay``.
6. Where the DDPM helps: ``wigenai ber --link`` on the ``pluto-like`` and ``harsh``
   presets (nearest, the pilot centroid receiver, the genie MAP, the preset DDPM and
   autoencoder), and ``apps/loopback_structured.grc`` with the pluto-like chain.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import sys
from pathlib import Path

# Debian's GNU Radio logs at debug level by default; the burst decoder's per-burst
# lines would bury the demo's tables. A user's own setting wins.
os.environ.setdefault("GR_CONF_LOG_LOG_LEVEL", "info")

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from grc_loader import load_top_block  # noqa: E402
from wigenai.ber import run_sweep  # noqa: E402
from wigenai.channel import LinkParams  # noqa: E402
from wigenai.cli import main as cli_main  # noqa: E402
from wigenai.constellation import Constellation  # noqa: E402
from wigenai.metrics import error_stderr, theory_ber  # noqa: E402
from wigenai.receivers import MapReceiver  # noqa: E402

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
N_SYMBOLS = 200_000
LINKS = {
    "ideal": dict(kappa_t=0.0, kappa_r=0.0, quant_bits=0, adc_bits=0),
    "impaired": dict(kappa_t=0.1, kappa_r=0.1, quant_bits=4, adc_bits=4),
}
SNRS = {"qpsk": [-10.0, 0.0, 6.0, 9.0], "16qam": [0.0, 10.0, 16.0]}


def flowgraph_ber(top_block, modulation, snr_db, link, seed=1):
    tb = top_block(
        modulation=modulation,
        snr_db=snr_db,
        n_symbols=N_SYMBOLS,
        noise="awgn",
        seed=seed,
        **link,
    )
    tb.run()
    sent = np.asarray(tb.sent_sink.data(), dtype=np.int64)
    got = np.asarray(tb.decided_sink.data(), dtype=np.int64)
    return Constellation.named(modulation).bit_errors(sent, got) / (
        sent.size * Constellation.named(modulation).bits_per_symbol
    )


def main() -> int:
    logging.basicConfig(level=logging.WARNING)
    top_block = load_top_block(HERE / "loopback_headless.grc")
    print(f"Loopback flowgraph, {N_SYMBOLS} symbols per point, AWGN, SNR = Es/N0.")
    print(
        f"{'mod':>6} {'link':>9} {'SNR dB':>7} {'flowgraph BER':>20} "
        f"{'library MAP':>12} {'theory*':>10}"
    )
    for modulation, snrs in SNRS.items():
        const = Constellation.named(modulation)
        for name, link in LINKS.items():
            lib = run_sweep(
                LinkParams(snr_db=0.0, **link),
                snrs,
                [MapReceiver(const)],
                N_SYMBOLS,
                seed=7,
                progress=False,
            )
            extra = link["kappa_t"] ** 2 + link["kappa_r"] ** 2
            for snr, rec in zip(snrs, lib, strict=True):
                ber = flowgraph_ber(top_block, modulation, snr, link)
                err = error_stderr(ber, N_SYMBOLS * const.bits_per_symbol)
                theory = float(theory_ber(modulation, snr, extra))
                print(
                    f"{modulation:>6} {name:>9} {snr:7.1f} {ber:11.3e} +-{err:6.1e} "
                    f"{rec.ber:12.3e} {theory:10.3e}"
                )
    print(
        "* theory: Gaussian link with the distortion counted as noise and the "
        "quantizers ignored; exact for the ideal link."
    )
    fig3()
    ddpm_loopback()
    fig4()
    shaped_loopback()
    burst_loopback()
    structured_links()
    return 0


def fig3() -> None:
    out = ROOT / "out"
    out.mkdir(exist_ok=True)
    runs = [
        ("qpsk", noise, "ddpm,ae,map,nearest", "-25:-5:5", "100000")
        for noise in ("awgn", "laplace")
    ]
    # 16-QAM: the BER bound is the bitwise MAP detector (map-bit), not symbol MAP.
    runs += [
        ("16qam", noise, "ddpm,ae,map,map-bit", "-15:5:5", "50000")
        for noise in ("awgn", "laplace")
    ]
    for modulation, noise, receivers, snrs, symbols in runs:
        print(
            f"\nCase study 1, {modulation}, default impaired link, {noise} "
            f"(wigenai ber, {int(symbols):,} symbols a point):"
        )
        name = "fig3" if modulation == "qpsk" else f"fig3-{modulation}"
        cli_main(
            [
                "-q",
                "ber",
                "--modulation",
                modulation,
                "--receivers",
                receivers,
                f"--snr={snrs}",
                "--noise",
                noise,
                "--symbols",
                symbols,
                "--json",
                str(out / f"{name}-{noise}.json"),
                "--plot",
                str(out / f"{name}-{noise}.png"),
            ]
        )
    print(f"(JSON and plots in {out})")


def ddpm_loopback() -> None:
    top_block = load_top_block(HERE / "loopback_ddpm.grc")
    const = Constellation(4)
    print(
        "\nDDPM denoiser block in the loopback flowgraph (QPSK, default link, "
        f"{N_SYMBOLS} symbols):"
    )
    print(
        f"{'SNR dB':>7} {'conventional BER':>17} {'DDPM block BER':>15} "
        f"{'DDPM C++ block':>15}"
    )
    for snr in (-10.0, -5.0):
        tb = top_block(
            modulation="qpsk",
            snr_db=snr,
            n_symbols=N_SYMBOLS,
            seed=2,
            noise="awgn",
            **LINKS["impaired"],
        )
        tb.run()
        sent = np.asarray(tb.sent_sink.data(), np.int64)
        bits = sent.size * const.bits_per_symbol
        conv = const.bit_errors(sent, np.asarray(tb.decided_sink.data(), np.int64))
        ddpm = const.bit_errors(sent, np.asarray(tb.ddpm_sink.data(), np.int64))
        ddpm_cc = const.bit_errors(sent, np.asarray(tb.ddpm_cc_sink.data(), np.int64))
        print(
            f"{snr:7.1f} {conv / bits:17.4e} {ddpm / bits:15.4e} {ddpm_cc / bits:15.4e}"
        )


def fig4() -> None:
    out = ROOT / "out"
    out.mkdir(exist_ok=True)
    for order in (16, 64):
        print(f"\nCase study 2, {order}-QAM, AWGN (wigenai mi, 50,000 samples a point):")
        cli_main(
            [
                "-q",
                "mi",
                "--order",
                str(order),
                "--shapers",
                "uniform,ddpm,mb,ba,stark",
                "--snr=-10:20:10",
                "--symbols",
                "50000",
                "--json",
                str(out / f"fig4-{order}qam-awgn.json"),
                "--plot",
                str(out / f"fig4-{order}qam-awgn.png"),
            ]
        )
    print(f"(JSON and plots in {out})")


def shaped_loopback() -> None:
    top_block = load_top_block(HERE / "loopback_shaped.grc")
    print(
        "\nShaped transmission in a flowgraph: random bits -> DDPM Shaper (data mode, "
        "Blahut-Arimoto pmf) -> link -> receiver -> CCDM Dematcher, 16-QAM:"
    )
    print(
        f"{'SNR dB':>7} {'bits':>9} {'bit/symbol':>10} {'DDPM errors':>12} "
        f"{'failed':>7} {'GR decoder errors':>18} {'failed':>7}"
    )
    for snr in (14.0, 20.0, 30.0):
        tb = top_block(order=16, pmf_source="ba", snr_db=snr, n_blocks=100, seed=4)
        tb.run()
        sent = np.asarray(tb.sent_sink.data(), np.uint8)
        row = f"{snr:7.1f} {sent.size:9d} {tb.k_bits / 1024:10.4f}"
        for sink, dematcher in (
            (tb.ddpm_sink, tb.ddpm_dematcher),
            (tb.conv_sink, tb.conv_dematcher),
        ):
            got = np.asarray(sink.data(), np.uint8)
            errors = int(np.count_nonzero(got[: sent.size] != sent[: got.size]))
            errors += abs(int(sent.size) - int(got.size))
            row += f" {errors:12d} {dematcher.failed_blocks():7d}"
        print(row)
    print(
        "(a symbol error that changes a block's composition loses the whole block: "
        "CCDM needs error correction or at least a CRC around it)"
    )


def burst_loopback() -> None:
    top_block = load_top_block(HERE / "burst_loopback.grc")
    out = ROOT / "out"
    out.mkdir(exist_ok=True)
    print(
        "\nBurst link in a flowgraph: 100 QPSK bursts of 100 bytes through a carrier "
        "offset of 5 % of the symbol rate, 50 ppm sampling offset, 0.37-sample timing "
        "offset, 3-tap multipath, 2 degrees rms phase noise, kappa 0.03, 8-bit ADC:"
    )
    print(
        f"{'Es/N0 dB':>8} {'ideal BER':>10} {'found':>6} "
        f"{'CRC ok':>7} {'BER conventional':>17} {'CRC ok':>7} {'BER DDPM (C++)':>15}"
    )
    for esn0_db in (12.0, 14.0, 16.0):
        recording = out / f"burst_loopback_{esn0_db:.0f}db"
        tb = top_block(esn0_db=esn0_db, n_bursts=100, recording=str(recording))
        tb.run()
        row = f"{esn0_db:8.1f} {float(theory_ber('qpsk', esn0_db)):10.1e} "
        row += f"{tb.sync.bursts():6d}"
        for decoder in (tb.decoder, tb.decoder_ddpm_cc):
            row += f" {decoder.crc_ok():7d} {decoder.bit_errors() / decoder.bits():17.2e}"
        print(row)
    meta = out / "burst_loopback_12db.sigmf-meta"
    print(f"Offline, `wigenai replay {meta.relative_to(ROOT)} --compare` (totals):")
    lines = io.StringIO()
    with contextlib.redirect_stdout(lines):
        cli_main(["--quiet", "replay", str(meta), "--compare"])
    text = lines.getvalue()
    print(text[text.rindex("bursts found") :].rstrip())


def structured_links() -> None:
    out = ROOT / "out"
    out.mkdir(exist_ok=True)
    for link, snrs in (("pluto-like", "14,18,22"), ("harsh", "22,26,30")):
        print(
            f"\nWhere the DDPM helps: link preset {link}, 16-QAM "
            "(wigenai ber --link, 50,000 symbols a point):"
        )
        cli_main(
            [
                "-q",
                "ber",
                "--link",
                link,
                "--snr",
                snrs,
                "--symbols",
                "50000",
                "--json",
                str(out / f"{link}.json"),
                "--plot",
                str(out / f"{link}.png"),
                "--constellation-plot",
                str(out / f"{link}-constellation.png"),
            ]
        )
    top = load_top_block(HERE / "loopback_structured.grc")
    tb = top(link="pluto-like", snr_db=18.0, n_symbols=50_000, seed=3)
    print("\napps/loopback_structured.grc, pluto-like at 18 dB, 50,000 symbols:")
    tb.run()
    sent = np.asarray(tb.sent_sink.data(), np.int64)
    const = Constellation.named("16qam")
    for name, sink in (
        ("nearest", tb.decided_sink),
        ("DDPM block (Python)", tb.ddpm_sink),
        ("DDPM block (C++)", tb.ddpm_cc_sink),
    ):
        got = np.asarray(sink.data(), np.int64)
        ber = const.bit_errors(sent, got) / (sent.size * const.bits_per_symbol)
        print(f"  {name:>20}: BER {ber:.3e}")
    print(f"(JSON and plots in {out})")


if __name__ == "__main__":
    sys.exit(main())
