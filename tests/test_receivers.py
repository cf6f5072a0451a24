"""Symbol MAP against bitwise MAP: which one bounds the uncoded BER."""

import numpy as np

from wigenai.ber import run_sweep
from wigenai.channel import LinkParams
from wigenai.constellation import Constellation
from wigenai.receivers import BitMapReceiver, MapReceiver

LINK = dict(kappa_t=0.1, kappa_r=0.1, quant_bits=4, adc_bits=4)


def _sweep(order, snr_db, noise="awgn", n=60_000):
    const = Constellation(order)
    link = LinkParams(snr_db=snr_db, noise=noise, **LINK)
    recs = run_sweep(
        link,
        [snr_db],
        [MapReceiver(const), BitMapReceiver(const)],
        n,
        seed=5,
        progress=False,
    )
    return {r.method: r for r in recs}


def test_qpsk_bitwise_and_symbol_map_decide_alike():
    """Gray QPSK on a link that treats I and Q alike: the two rules are one rule."""
    for noise in ("awgn", "laplace"):
        recs = _sweep(4, -8.0, noise, n=20_000)
        assert recs["map"].ber == recs["map-bit"].ber
        assert recs["map"].ser == recs["map-bit"].ser


def test_16qam_bitwise_map_has_lower_ber_symbol_map_lower_ser():
    """At low SNR each rule wins on its own metric, by more than Monte Carlo error."""
    recs = _sweep(16, -5.0)
    sym, bit = recs["map"], recs["map-bit"]
    margin = 3 * np.hypot(sym.stderr, bit.stderr)
    assert bit.ber < sym.ber - margin
    assert sym.ser < bit.ser
