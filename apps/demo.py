"""``make demo``: the loopback flowgraph at a few SNRs, next to theory and the library.

Runs ``apps/loopback_headless.grc`` (GNU Radio's random source, mapper and decoder
around the module's impaired-link block) for QPSK and 16-QAM, on an ideal link and on
the default impaired link, and prints the measured BER beside the closed-form BER and
the library's genie MAP detector on the same link.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from grc_loader import load_top_block  # noqa: E402
from wigenai.ber import run_sweep  # noqa: E402
from wigenai.channel import LinkParams  # noqa: E402
from wigenai.constellation import Constellation  # noqa: E402
from wigenai.metrics import error_stderr, theory_ber  # noqa: E402
from wigenai.receivers import MapReceiver  # noqa: E402

HERE = Path(__file__).resolve().parent
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
    return 0


if __name__ == "__main__":
    sys.exit(main())
