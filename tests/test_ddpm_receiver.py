"""Acceptance of the shipped DDPM receivers, and the DDPM loopback flowgraph.

On the default impaired link (kappa 0.1, 4-bit DAC and ADC) the QPSK MAP detector is
the sign detector, so the DDPM can at best tie it; the shipped models must keep at
least 95 % of MAP's advantage over guessing under AWGN and 90 % under Laplacian noise,
which they never saw in training. For 16-QAM the BER bound is the bitwise MAP
detector (the symbol MAP detector minimises symbol errors and loses bits at low SNR).
"""

import math
from pathlib import Path

import numpy as np
import pytest

from wigenai.ber import run_sweep
from wigenai.channel import LinkParams
from wigenai.constellation import Constellation
from wigenai.ort_sampler import DdpmReceiver
from wigenai.paths import default_model
from wigenai.receivers import BitMapReceiver, MapReceiver

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_LINK = dict(kappa_t=0.1, kappa_r=0.1, quant_bits=4, adc_bits=4)


@pytest.mark.parametrize("noise,target", [("awgn", 0.95), ("laplace", 0.90)])
def test_shipped_qpsk_denoiser_keeps_map_advantage(noise, target):
    model = default_model("denoiser", "qpsk")
    receivers = [MapReceiver(Constellation(4)), DdpmReceiver(str(model))]
    snrs = [-15.0, -10.0, -5.0]
    recs = run_sweep(
        LinkParams(snr_db=0.0, noise=noise, **DEFAULT_LINK),
        snrs,
        receivers,
        100_000,
        seed=21,
        progress=False,
    )
    by = {(r.snr_db, r.method): r.ber for r in recs}
    for snr in snrs:
        ratio = (0.5 - by[(snr, "ddpm")]) / (0.5 - by[(snr, "map")])
        assert ratio >= target, (snr, noise, ratio)


@pytest.mark.parametrize(
    "noise,snrs,target", [("awgn", [-5.0, 5.0], 0.95), ("laplace", [-5.0], 0.90)]
)
def test_shipped_16qam_denoiser_close_to_bitwise_map(noise, snrs, target):
    """16-QAM: the BER bound is the bitwise MAP detector, not the symbol MAP one."""
    model = default_model("denoiser", "16qam")
    receivers = [BitMapReceiver(Constellation(16)), DdpmReceiver(str(model))]
    recs = run_sweep(
        LinkParams(snr_db=0.0, noise=noise, **DEFAULT_LINK),
        snrs,
        receivers,
        50_000,
        seed=22,
        progress=False,
    )
    by = {(r.snr_db, r.method): r.ber for r in recs}
    for snr in snrs:
        ratio = (0.5 - by[(snr, "ddpm")]) / (0.5 - by[(snr, "map-bit")])
        assert ratio >= target, (snr, noise, ratio)


def test_ddpm_loopback_flowgraph_matches_the_library():
    pytest.importorskip("gnuradio.wigenai")
    from grc_loader import load_top_block

    top = load_top_block(ROOT / "apps" / "loopback_ddpm.grc")
    n = 100_000
    tb = top(
        modulation="qpsk", snr_db=-5.0, n_symbols=n, seed=3, noise="awgn", **DEFAULT_LINK
    )
    tb.run()
    sent = np.asarray(tb.sent_sink.data(), np.int64)
    ddpm = np.asarray(tb.ddpm_sink.data(), np.int64)
    conventional = np.asarray(tb.decided_sink.data(), np.int64)
    assert sent.size == ddpm.size == conventional.size == n
    const = Constellation(4)
    ber_ddpm = const.bit_errors(sent, ddpm) / (2 * n)
    ber_conv = const.bit_errors(sent, conventional) / (2 * n)

    lib = run_sweep(
        LinkParams(snr_db=-5.0, **DEFAULT_LINK),
        [-5.0],
        [DdpmReceiver(str(default_model("denoiser", "qpsk")))],
        n,
        seed=9,
        progress=False,
    )[0].ber
    se = math.sqrt(2 * lib * (1 - lib) / (2 * n))
    assert abs(ber_ddpm - lib) < 4 * se
    assert ber_ddpm <= ber_conv + 3 * math.sqrt(ber_conv / (2 * n))
