"""The impaired link: statistics, quantizers and the exact likelihood."""

import math

import numpy as np
import pytest

from wigenai.channel import ImpairedChannel, LinkParams, quantize
from wigenai.constellation import Constellation


def _residual(params, n=200_000, seed=1):
    rng = np.random.default_rng(0)
    x = Constellation(16).map(rng.integers(0, 16, n))
    ch = ImpairedChannel(params, seed=seed)
    y, _ = ch.transmit(x)
    return y - ch.dac(x)


def test_distortion_plus_noise_variance_matches_model():
    p = LinkParams(snr_db=10.0, kappa_t=0.2, kappa_r=0.1)
    r = _residual(p)
    expected = 0.2**2 + 0.1**2 + 0.1
    assert abs(np.mean(np.abs(r) ** 2) / expected - 1) < 0.02
    assert abs(np.mean(r.real * r.imag)) < 0.005  # circular


@pytest.mark.parametrize("noise,kurtosis", [("awgn", 0.0), ("laplace", 3.0)])
def test_noise_law_excess_kurtosis(noise, kurtosis):
    r = _residual(LinkParams(snr_db=0.0, noise=noise)).real
    k = np.mean(r**4) / np.mean(r**2) ** 2 - 3
    assert abs(k - kurtosis) < 0.15
    assert abs(np.var(r) / 0.5 - 1) < 0.02  # N0 / 2 per dimension at 0 dB


@pytest.mark.parametrize("bits", [1, 2, 4, 6])
def test_quantizer_levels(bits):
    v = np.linspace(-3, 3, 100_001)
    q = quantize(v, bits, 1.0)
    levels = np.unique(q)
    step = 2.0 / 2**bits
    assert levels.size == 2**bits
    assert np.allclose(np.diff(levels), step)
    assert np.isclose(levels[-1], 1 - step / 2) and np.isclose(levels[0], -(1 - step / 2))
    inside = np.abs(v) < 1 - step
    if inside.any():  # a 1-bit quantizer has no inner cell
        assert np.max(np.abs(q[inside] - v[inside])) <= step / 2 + 1e-12


def test_adc_output_on_its_grid_and_agc_scale():
    p = LinkParams(snr_db=5.0, kappa_t=0.1, kappa_r=0.1, adc_bits=3)
    ch = ImpairedChannel(p, seed=3)
    y, _ = ch.transmit(np.ones(50_000) * (1 + 1j) / math.sqrt(2))
    assert np.unique(y.real).size <= 8
    assert np.isclose(np.max(y.real), p.adc_full_scale * (1 - 1 / 8))


@pytest.mark.parametrize("noise", ["awgn", "laplace"])
@pytest.mark.parametrize("kappa", [0.0, 0.1])
def test_cell_probabilities_sum_to_one(noise, kappa):
    p = LinkParams(snr_db=-3.0, kappa_t=kappa, kappa_r=kappa, adc_bits=3, noise=noise)
    ch = ImpairedChannel(p)
    step = 2 * p.adc_full_scale / 8
    levels = step * (np.arange(8) - 3.5)
    grid = (levels[:, None] + 1j * levels[None, :]).reshape(-1)
    pts = Constellation(4).points
    prob = np.exp(ch.log_likelihoods(grid, pts))
    assert np.allclose(prob.sum(axis=0), 1.0, atol=1e-9)


@pytest.mark.parametrize("noise", ["awgn", "laplace"])
def test_density_integrates_to_one(noise):
    p = LinkParams(snr_db=0.0, kappa_t=0.1, kappa_r=0.05, noise=noise)
    ch = ImpairedChannel(p)
    u = np.linspace(-8, 8, 1601)
    du = u[1] - u[0]
    grid = (u[:, None] + 1j * u[None, :]).reshape(-1)
    dens = np.exp(ch.log_likelihoods(grid, np.array([0.3 - 0.2j])))
    assert abs(dens.sum() * du * du - 1) < 1e-3


def test_likelihood_matches_histogram_laplace_with_distortion():
    p = LinkParams(snr_db=0.0, kappa_t=0.3, noise="laplace")
    ch = ImpairedChannel(p, seed=5)
    y, _ = ch.transmit(np.zeros(400_000))
    hist, edges = np.histogram(y.real, bins=40, range=(-2, 2), density=True)
    centres = (edges[1:] + edges[:-1]) / 2
    law = np.exp(ch.log_likelihoods(centres + 0j, np.array([0j])))[:, 0]
    # the likelihood is of (I, Q) jointly; divide out the density of Q at 0
    law_q0 = np.exp(ch.log_likelihoods(np.array([0j]), np.array([0j])))[0, 0]
    marg = law / np.sqrt(law_q0)
    assert np.max(np.abs(hist - marg)) < 0.03


def test_same_seed_same_draws_and_fading_gain():
    p = LinkParams(snr_db=3.0, fading=True)
    a = ImpairedChannel(p, seed=9).transmit(np.ones(1000))
    b = ImpairedChannel(p, seed=9).transmit(np.ones(1000))
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    assert abs(np.mean(np.abs(a[1]) ** 2) - 1) < 0.1


@pytest.mark.parametrize(
    "kwargs,name",
    [
        ({"snr_db": float("nan")}, "snr_db"),
        ({"snr_db": float("inf")}, "snr_db"),
        ({"snr_db": 0, "kappa_t": -0.1}, "kappa_t"),
        ({"snr_db": 0, "kappa_r": float("nan")}, "kappa_r"),
        ({"snr_db": 0, "quant_bits": -1}, "quant_bits"),
        ({"snr_db": 0, "adc_bits": 2.5}, "adc_bits"),
        ({"snr_db": 0, "noise": "pink"}, "noise"),
        ({"snr_db": 0, "adc_loading": 0}, "adc_loading"),
    ],
)
def test_bad_parameters_name_the_parameter(kwargs, name):
    with pytest.raises(ValueError, match=name):
        LinkParams(**kwargs)
