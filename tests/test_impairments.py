"""Structured impairment stages: formulas, validation, the link and its genie law."""

import math

import numpy as np
import pytest

from wigenai.channel import quantize
from wigenai.constellation import Constellation
from wigenai.impairments import (
    CarrierOffset,
    DCOffset,
    GaussianDistortion,
    IQImbalance,
    NonUniformQuantizer,
    PhaseNoise,
    RappPA,
    SalehPA,
    StructuredLink,
    UniformQuantizer,
    phase_nodes,
)
from wigenai.receivers import NearestReceiver
from wigenai.structured_receivers import GenieMapReceiver, run_link_sweep

QAM16 = Constellation(16)
QPSK = Constellation(4)


def _symbols(n, const=QAM16, seed=0):
    return const.map(np.random.default_rng(seed).integers(0, const.order, n))


# ----- amplifiers -----------------------------------------------------------------------


def test_rapp_at_saturation_and_linear_region():
    pa = RappPA(backoff_db=1.0, smoothness=2.0, a_sat=0.8)
    assert np.isclose(pa.am_am(0.8), 0.8 * 2.0 ** (-1.0 / 4.0))
    assert np.isclose(pa.am_am(1e-4), 1e-4)  # unit small-signal gain
    assert pa.am_am(1e3) < 0.8  # never beyond the saturation amplitude
    assert np.all(pa.am_pm(np.linspace(0, 2, 5)) == 0)


def test_rapp_backoff_and_fixed_output_gain():
    pa = RappPA(backoff_db=1.0, smoothness=2.0, a_sat=1.0).calibrate(QAM16.points)
    drive = pa.gain_in * QAM16.points
    assert np.isclose(np.sqrt(np.mean(np.abs(drive) ** 2)), 10 ** (-1 / 20))
    out = pa.apply(QAM16.points)
    assert np.isclose(np.mean(np.abs(out) ** 2), 1.0)  # normalised on the constellation
    assert np.allclose(np.angle(out), np.angle(QAM16.points))  # no AM/PM
    radius = np.abs(out)
    assert radius.max() / radius.min() < 0.9 * 3.0  # the outer ring is compressed
    # the gain is fixed: a block of only outer points is not renormalised
    corner = QAM16.points[np.argmax(np.abs(QAM16.points))]
    assert np.isclose(abs(pa.apply(np.array([corner]))[0]), radius.max())


def test_saleh_am_pm_and_peak():
    pa = SalehPA(backoff_db=3.0)
    assert np.isclose(pa.am_pm(1.0), 4.0033 / (1 + 9.1040))
    assert np.isclose(pa.am_pm(0.5), 4.0033 * 0.25 / (1 + 9.1040 * 0.25))
    r_sat = 1 / math.sqrt(1.1517)
    assert np.isclose(pa.a_saturation, r_sat)
    assert np.isclose(pa.am_am(r_sat), 2.1587 / (2 * math.sqrt(1.1517)))
    assert pa.am_am(r_sat) > max(pa.am_am(0.9 * r_sat), pa.am_am(1.1 * r_sat))
    cal = pa.calibrate(QAM16.points)
    x = QAM16.points[:3]
    rotation = np.angle(cal.apply(x) / x)
    assert np.allclose(rotation, pa.am_pm(cal.gain_in * np.abs(x)))


@pytest.mark.parametrize("pa", [RappPA(backoff_db=0.0), SalehPA(backoff_db=-0.5)])
def test_backoff_beyond_saturation_on_every_symbol_raises(pa):
    with pytest.raises(ValueError, match=r"^backoff_db:"):
        pa.calibrate(QPSK.points)  # constant modulus: every symbol at saturation


def test_backoff_beyond_saturation_raises_in_a_link():
    with pytest.raises(ValueError, match=r"^backoff_db:"):
        StructuredLink([RappPA(backoff_db=-8.0)], 20.0, points=QAM16.points)
    StructuredLink([RappPA(backoff_db=-6.0)], 20.0, points=QAM16.points)  # inner ok


def test_uncalibrated_amplifier_refuses():
    with pytest.raises(RuntimeError):
        RappPA().apply(QAM16.points, None)


# ----- IQ imbalance, DC, phase ----------------------------------------------------------


def test_iq_imbalance_of_known_points():
    g, phi = 10 ** (1 / 20), math.radians(5.0)
    rx = IQImbalance(1.0, 5.0, "rx")
    assert np.isclose(rx.apply(np.array([1.0 + 0j]))[0], 1 - 1j * g * math.sin(phi))
    assert np.isclose(rx.apply(np.array([1j]))[0], 1j * g * math.cos(phi))
    tx = IQImbalance(1.0, 5.0, "tx")
    assert np.isclose(tx.apply(np.array([1.0 + 0j]))[0], 1.0)
    assert np.isclose(
        tx.apply(np.array([1j]))[0], -g * math.sin(phi) + 1j * g * math.cos(phi)
    )
    x = _symbols(100)
    for stage in (rx, tx):
        mu, nu, c = stage.affine()
        assert np.allclose(stage.apply(x), mu * x + nu * np.conj(x) + c)
    assert np.allclose(IQImbalance(0.0, 0.0).apply(x), x)


@pytest.mark.parametrize("phase", [90.0, -90.0, 120.0])
def test_iq_phase_of_90_degrees_raises(phase):
    with pytest.raises(ValueError, match=r"^phase_deg:"):
        IQImbalance(1.0, phase)


def test_dc_offset_mean():
    x = _symbols(50_000)
    y = DCOffset(0.1 - 0.2j).apply(x)
    assert np.allclose(y - x, 0.1 - 0.2j)
    link = StructuredLink([DCOffset(0.1 - 0.2j)], 10.0, points=QAM16.points, seed=1)
    r = link.transmit(x)[0] - x
    assert abs(np.mean(r) - (0.1 - 0.2j)) < 4 * math.sqrt(0.1 / x.size)


def test_phase_noise_increment_variance_untracked_walk():
    var = 1e-3
    pn = PhaseNoise(increment_var=var, tracked=False)
    rng = np.random.default_rng(3)
    x = np.ones(100_000, np.complex128)
    theta = np.unwrap(np.angle(pn.apply(x, rng)))
    steps = np.diff(theta)
    assert abs(np.var(steps) / var - 1) < 0.03
    assert abs(np.mean(steps)) < 4 * math.sqrt(var / steps.size)
    # what the genie knows is the walk up to the previous symbol
    resid = np.angle(np.exp(1j * (theta - pn.known_phase())))
    assert abs(np.var(resid) / var - 1) < 0.03
    # the walk continues across calls
    last = theta[-1]
    nxt = np.angle(pn.apply(x[:1], rng))[0]
    assert abs(np.angle(np.exp(1j * (nxt - last)))) < 6 * math.sqrt(var)


def test_phase_noise_tracked_jitter_and_static():
    pn = PhaseNoise(increment_var=1e-3, jitter_deg=4.0, static_deg=10.0)
    theta = np.angle(pn.apply(np.ones(100_000, np.complex128), np.random.default_rng(4)))
    assert abs(np.mean(theta) - math.radians(10.0)) < 1e-3
    expected = 1e-3 + math.radians(4.0) ** 2
    assert abs(np.var(theta) / expected - 1) < 0.03
    assert np.isclose(pn.unknown_var, expected)
    assert np.isclose(pn.known_phase(), math.radians(10.0))


def test_negative_phase_noise_variance_raises():
    with pytest.raises(ValueError, match=r"^increment_var:"):
        PhaseNoise(increment_var=-1e-4)
    with pytest.raises(ValueError, match=r"^jitter_deg:"):
        PhaseNoise(jitter_deg=-1.0)


def test_carrier_offset_ramp_runs_on():
    cfo = CarrierOffset(0.01)
    y1 = cfo.apply(np.ones(30, np.complex128))
    y2 = cfo.apply(np.ones(30, np.complex128))
    n = np.arange(60)
    assert np.allclose(np.concatenate([y1, y2]), np.exp(2j * np.pi * 0.01 * n))
    with pytest.raises(ValueError, match=r"^cycles_per_symbol:"):
        CarrierOffset(0.7)


def test_gaussian_distortion_variance():
    x = _symbols(100_000)
    r = GaussianDistortion(0.2).apply(x, np.random.default_rng(5)) - x
    assert abs(np.mean(np.abs(r) ** 2) / 0.04 - 1) < 0.02


# ----- quantizers -----------------------------------------------------------------------


def test_uniform_quantizer_is_channel_quantize_plus_offset():
    v = np.random.default_rng(6).uniform(-1.3, 1.3, 20_000)
    q = UniformQuantizer(4, 1.0)
    assert np.array_equal(q.apply(v + 1j * v).real, quantize(v, 4, 1.0))
    off = UniformQuantizer(4, 1.0, offset_lsb_i=0.3, offset_lsb_q=-0.2)
    y = off.apply(v + 1j * v)
    assert np.array_equal(y.real, quantize(v + 0.3 * q.step, 4, 1.0))
    assert np.array_equal(y.imag, quantize(v - 0.2 * q.step, 4, 1.0))
    for dim, part in ((0, y.real), (1, y.imag)):
        edges, levels = off.tables(dim)
        assert np.array_equal(levels[np.searchsorted(edges, v, side="right")], part)
        lo, hi = off.cells(part, dim)
        assert np.all((lo <= v) & (v <= hi))
    # the thresholds are asymmetric: the mean error is the offset
    fine = np.linspace(-0.8, 0.8, 200_001)
    assert np.isclose(np.mean(off.apply(fine + 0j).real - fine), 0.3 * q.step, atol=1e-3)


def test_mu_law_quantizer_is_denser_near_zero():
    q = NonUniformQuantizer.mu_law(4, 1.0, mu=50.0)
    edges, levels = q.tables(0)
    assert levels.size == 16 and edges.size == 15
    assert np.allclose(levels, -levels[::-1])
    steps = np.diff(levels)
    assert steps[7] < steps[0] / 5  # fine near zero, coarse at the edges
    v = np.random.default_rng(7).uniform(-1.2, 1.2, 5000)
    y = q.apply(v + 1j * v)
    assert np.array_equal(y.real, levels[np.searchsorted(edges, v, side="right")])
    with pytest.raises(ValueError, match=r"^levels:"):
        NonUniformQuantizer(edges=(0.0,), levels=(-1.0, 0.0, 1.0))
    with pytest.raises(ValueError, match=r"^edges:"):
        NonUniformQuantizer(edges=(0.5, 0.0), levels=(-1.0, 0.0, 1.0))


# ----- the link -------------------------------------------------------------------------


def _link(snr_db=20.0, seed=9, adc=None, **kw):
    stages = [
        IQImbalance(1.0, 5.0, "tx"),
        RappPA(backoff_db=1.0),
        PhaseNoise(increment_var=math.radians(3.0) ** 2, **kw),
        IQImbalance(1.0, 5.0, "rx"),
        DCOffset(0.01 - 0.005j),
    ]
    return StructuredLink(stages, snr_db, points=QAM16.points, adc=adc, seed=seed)


@pytest.mark.parametrize("noise", ["awgn", "laplace"])
def test_thermal_noise_variance(noise):
    link = StructuredLink([], 3.0, points=QAM16.points, noise=noise, seed=2)
    x = _symbols(100_000)
    r = link.transmit(x)[0] - x
    n0 = 10 ** (-0.3)
    assert abs(np.var(r.real) / (n0 / 2) - 1) < 0.02
    kurt = np.mean(r.real**4) / np.mean(r.real**2) ** 2 - 3
    assert abs(kurt - (0.0 if noise == "awgn" else 3.0)) < 0.2


def test_seeded_reproducibility():
    x = _symbols(5000)
    a = _link(seed=11).transmit(x)
    b = _link(seed=11).transmit(x)
    c = _link(seed=12).transmit(x)
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], np.ones(x.size))
    assert not np.array_equal(a[0], c[0])
    assert np.array_equal(_link(seed=3).spawn(11).transmit(x)[0], a[0])
    link = _link(seed=11)
    link.set_snr_db(10.0)
    assert link.params.snr_db == 10.0 and link.params.fading is False


def test_genie_cell_probabilities_sum_to_one_and_match_frequencies():
    adc = UniformQuantizer(3, loading=2.0, offset_lsb_i=0.4)
    link = _link(snr_db=15.0, adc=adc, jitter_deg=6.0)
    levels = adc.tables(0)[1] * link.adc.full_scale / adc.full_scale
    grid = (levels[:, None] + 1j * levels[None, :]).reshape(-1)
    ll = link.log_likelihoods(grid, QAM16.points)
    assert np.allclose(np.exp(ll).sum(axis=0), 1.0, atol=1e-9)
    point = 5
    y, _ = link.transmit(np.full(100_000, QAM16.points[point]))
    idx = link.adc.cell_index(y.real, 0) * 8 + link.adc.cell_index(y.imag, 1)
    freq = np.bincount(idx, minlength=64) / y.size
    prob = np.exp(ll[:, point])
    assert np.max(np.abs(freq - prob)) < 4 * math.sqrt(0.25 / y.size)


def test_genie_paths_agree():
    """Constant known phase (fast paths) against the per-symbol path."""
    for adc in (None, UniformQuantizer(5, loading=3.0)):
        link = _link(snr_db=18.0, adc=adc)
        y, _ = link.transmit(_symbols(300))
        fast = link.log_likelihoods(y, QAM16.points)
        slow = link.log_likelihoods(y, QAM16.points, known_phase=np.zeros(y.size))
        assert np.allclose(fast, slow, atol=1e-8)


def test_phase_rules_agree_at_moderate_snr():
    link = _link(snr_db=15.0)
    y, _ = link.transmit(_symbols(2000))
    grid = link.log_likelihoods(y, QAM16.points)
    herm = link.log_likelihoods(y, QAM16.points, rule="hermite", nodes=64)
    relevant = grid > grid.max(axis=1, keepdims=True) - 15  # the far tails do not count
    assert np.max(np.abs(grid - herm)[relevant]) < 1e-3
    assert np.array_equal(grid.argmax(axis=1), herm.argmax(axis=1))
    phases, logw = phase_nodes(0.1, 0.01)
    assert np.isclose(np.exp(logw).sum(), 1.0)
    assert np.isclose(np.sum(np.exp(logw) * phases**2), 0.01, rtol=1e-6)


def test_genie_knows_carrier_ramp_and_untracked_walk():
    stages = [
        RappPA(backoff_db=2.0),
        PhaseNoise(increment_var=1e-5, tracked=False),
        CarrierOffset(2e-4),
    ]
    link = StructuredLink(stages, 22.0, points=QAM16.points, seed=1)
    recs = run_link_sweep(
        link, [22.0], [NearestReceiver(QAM16), GenieMapReceiver(QAM16)], 20_000, seed=3
    )
    by = {r.method: r.ser for r in recs}
    assert by["map"] < 0.01 and by["nearest"] > 0.5


def test_unsupported_order_is_refused_by_the_genie():
    stages = [GaussianDistortion(0.1), IQImbalance(1.0, 5.0)]
    link = StructuredLink(stages, 10.0, points=QAM16.points, seed=0)
    y, _ = link.transmit(_symbols(10))  # simulation is fine
    with pytest.raises(ValueError, match=r"^stages:"):
        link.log_likelihoods(y, QAM16.points)


def test_describe_is_plain_data():
    import json

    text = json.dumps(_link(adc=UniformQuantizer(8, loading=3.0)).describe())
    assert '"rapp_pa"' in text and '"adc"' in text
