"""Shaping references and rates (wigenai.shaping): each check can fail."""

import logging
import math
import types

import numpy as np
import pytest

from wigenai import shaping, train_shaper
from wigenai.constellation import Constellation
from wigenai.metrics import mutual_information

SNRS = (0.0, 10.0, 20.0)


def uniform_pam(order):
    side = int(math.isqrt(order))
    return np.full(side, 1.0 / side)


def gaussian_mi_reference(points, pmf, snr_db, symbols, seed):
    """An independent estimate: 2-D Monte Carlo with a Gaussian law written here."""
    rng = np.random.default_rng(seed)
    tx = points / np.sqrt(np.sum(pmf * np.abs(points) ** 2))
    n0 = 10 ** (-snr_db / 10)
    sent = rng.choice(points.size, symbols, p=pmf)
    noise = rng.standard_normal(symbols) + 1j * rng.standard_normal(symbols)
    y = tx[sent] + math.sqrt(n0 / 2) * noise
    log_lik = -(np.abs(y[:, None] - tx[None, :]) ** 2) / n0
    return mutual_information(log_lik, sent, np.log(pmf))


@pytest.mark.parametrize("snr_db", SNRS)
def test_uniform_16qam_mi_agrees_with_independent_estimates(snr_db):
    pmf = shaping.uniform_pmf(16)
    points = Constellation(16).points
    exact = shaping.product_mi_quadrature(16, uniform_pam(16), snr_db)
    mc, half = shaping.mutual_information_mc(points, pmf, snr_db, symbols=300_000)
    ref, ref_half = gaussian_mi_reference(points, pmf, snr_db, 300_000, seed=7)
    assert abs(mc - exact) < 0.01
    assert abs(ref - exact) < 0.01
    assert abs(mc - ref) < 0.01 + half + ref_half


def test_quadrature_matches_textbook_values():
    # QPSK is two independent BPSK links at half the SNR each: closed form by
    # integration over one Gaussian, computed here on a fine grid.
    snr = 10 ** (3 / 10)
    sigma = math.sqrt(1 / (2 * snr))
    y = np.linspace(-12, 12, 200_001)
    a = math.sqrt(0.5)
    f = np.exp(-((y - a) ** 2) / (2 * sigma**2)) / math.sqrt(2 * math.pi * sigma**2)
    g = np.exp(-((y + a) ** 2) / (2 * sigma**2)) / math.sqrt(2 * math.pi * sigma**2)
    bpsk = np.trapz(f * np.log2(2 * f / (f + g + 1e-300) + 1e-300), y)
    assert shaping.product_mi_quadrature(4, [0.5, 0.5], 3.0) == pytest.approx(
        2 * bpsk, abs=1e-5
    )
    # At 30 dB 16-QAM carries its full 4 bits.
    assert shaping.product_mi_quadrature(16, uniform_pam(16), 30.0) > 3.9999


@pytest.mark.parametrize("order", [16, 64])
@pytest.mark.parametrize("snr_db", SNRS)
def test_references_respect_capacity_and_ba_is_at_least_mb(order, snr_db):
    capacity = shaping.capacity_bits(snr_db)
    uniform = shaping.product_mi_quadrature(order, uniform_pam(order), snr_db)
    mb, nu, mi_mb = shaping.optimize_mb(order, snr_db)
    ba, mi_ba, _ = shaping.blahut_arimoto(order, snr_db)
    assert mi_mb <= capacity + 1e-6 and mi_ba <= capacity + 1e-6
    assert mi_mb >= uniform - 1e-6  # nu = 0 is uniform, so the optimum cannot lose
    assert mi_ba >= mi_mb - 2e-4
    assert abs(mi_ba - mi_mb) < 0.02
    assert nu >= 0
    for pmf in (mb, ba):
        assert pmf.sum() == pytest.approx(1.0)
        assert shaping.is_product(Constellation(order), pmf, tol=1e-9)
    # The Monte Carlo estimator sees the same rate as the quadrature.
    mc, half = shaping.mutual_information_mc(
        Constellation(order).points, ba, snr_db, symbols=100_000, seed=3
    )
    assert abs(mc - mi_ba) < max(2 * half, 0.01)


def test_shaping_gains_where_physics_says():
    # Little to gain at -5 dB (uniform is within 0.01 bit of capacity), and a clear
    # gain at 10 dB for 64-QAM.
    low = shaping.optimize_mb(64, -5.0)[2] - shaping.product_mi_quadrature(
        64, uniform_pam(64), -5.0
    )
    high = shaping.optimize_mb(64, 10.0)[2] - shaping.product_mi_quadrature(
        64, uniform_pam(64), 10.0
    )
    assert low < 0.01 < 0.1 < high


def test_laplacian_noise_is_kinder_than_gaussian_and_mismatch_costs():
    points, pmf = Constellation(16).points, shaping.uniform_pmf(16)
    awgn = shaping.product_mi_quadrature(16, uniform_pam(16), 5.0, "awgn")
    lap = shaping.product_mi_quadrature(16, uniform_pam(16), 5.0, "laplace")
    mism = shaping.product_mi_quadrature(16, uniform_pam(16), 5.0, "laplace", True)
    assert lap > awgn  # Gaussian noise is the worst noise of a given power
    assert mism < lap
    mc_mism, half = shaping.mutual_information_mc(
        points, pmf, 5.0, "laplace", symbols=200_000, mismatched=True
    )
    assert abs(mc_mism - mism) < max(2 * half, 0.01)
    mc_lap, half = shaping.mutual_information_mc(points, pmf, 5.0, "laplace")
    assert abs(mc_lap - lap) < max(2 * half, 0.01)


@pytest.mark.parametrize(
    "pmf, message",
    [
        ([0.5, 0.6, -0.1, 0.0], ">= 0"),
        ([0.2, 0.2, 0.2, 0.3], "sums to"),
        ([np.nan, 0.5, 0.25, 0.25], "NaN|finite"),
        ([0.5, 0.5], "entries|length|order"),
    ],
)
def test_bad_pmf_is_refused_by_name(pmf, message):
    with pytest.raises(ValueError, match="pmf") as err:
        shaping.mutual_information_mc(Constellation(4).points, pmf, 0.0)
    assert err.match(message)


def test_bad_order_and_source_are_refused():
    with pytest.raises(ValueError, match="order"):
        shaping.optimize_mb(32, 0.0)
    with pytest.raises(ValueError, match="pmf_source"):
        shaping.ShapedQam(16, "gaussian")
    with pytest.raises(ValueError, match="noise"):
        shaping.blahut_arimoto(16, 0.0, "cauchy")


def test_pmf_files_round_trip_and_bad_files(tmp_path):
    pmf = shaping.optimize_mb(16, 8.0)[0]
    path = tmp_path / "p.json"
    shaping.save_pmf(str(path), pmf, 16, source="mb", snr_db=8.0)
    assert np.allclose(shaping.load_pmf(str(path), 16), pmf)
    with pytest.raises(ValueError, match="order"):
        shaping.load_pmf(str(path), 64)
    path.write_text('{"pmf": [0.5, 0.7]}')
    with pytest.raises(ValueError, match=f"{path}.*pmf"):
        shaping.load_pmf(str(path), 2)
    path.write_text("not json")
    with pytest.raises(ValueError, match=str(path)):
        shaping.load_pmf(str(path))
    with pytest.raises(FileNotFoundError):
        shaping.load_pmf(str(tmp_path / "missing.json"))


def test_shaped_points_have_unit_energy_and_nominal_energy_gain():
    shaped = shaping.ShapedQam(16, "mb", 6.0)
    assert np.sum(shaped.pmf * np.abs(shaped.points) ** 2) == pytest.approx(1.0)
    assert shaped.nominal_energy < 1.0  # MB favours inner points
    ratio = np.abs(shaped.points) / np.abs(Constellation(16).points)
    assert np.allclose(ratio, 1 / math.sqrt(shaped.nominal_energy))


# ----- the DDPM shaper on a tiny trained model ---------------------------------------


@pytest.fixture(scope="module")
def tiny_shaper(tmp_path_factory):
    path = str(tmp_path_factory.mktemp("shaper") / "shaper-16qam.onnx")
    config = train_shaper.shaper_config(
        16,
        {
            "network": {"hidden": 32, "layers": 3},
            "diffusion": {"T": 40},
            "training": {"steps": 300, "batch_size": 64, "data_block": 4096},
        },
    )
    from wigenai import train_denoiser

    train_denoiser.run(config, path, progress=False)
    return path


def test_ddpm_shaper_pmf_is_seeded_and_valid(tiny_shaper):
    shaper = shaping.DdpmShaper(tiny_shaper, symbols=4000, seed=5)
    pmf = shaper.pmf(5.0)
    assert pmf.shape == (16,) and pmf.sum() == pytest.approx(1.0)
    assert np.all(pmf >= 0)
    again = shaping.DdpmShaper(tiny_shaper, symbols=4000, seed=5).pmf(5.0)
    assert np.array_equal(pmf, again)
    other = shaping.DdpmShaper(tiny_shaper, symbols=4000, seed=6).pmf(5.0)
    assert not np.array_equal(pmf, other)


def test_ddpm_shaper_onnx_and_torch_generate_the_same_symbols(tiny_shaper):
    import onnx
    import torch
    from onnx import numpy_helper

    from wigenai.ddpm import EpsilonNetwork, torch_eps_fn

    # Rebuild the torch network from the ONNX initializers (the exported weights).
    shaper = shaping.DdpmShaper(tiny_shaper, symbols=2000, seed=1)
    weights = {
        init.name: torch.from_numpy(numpy_helper.to_array(init).copy())
        for init in onnx.load(tiny_shaper).graph.initializer
    }
    model = EpsilonNetwork(shaper.schedule.T, 2, hidden=32, layers=3)
    state = model.state_dict()
    assert set(state) <= set(weights), "exported graph lost a parameter name"
    model.load_state_dict({k: weights[k] for k in state})
    for sampler in ("ddpm", "ddim"):
        onnx_shaper = shaping.DdpmShaper(tiny_shaper, sampler, symbols=2000, seed=1)
        torch_shaper = shaping.DdpmShaper(tiny_shaper, sampler, symbols=2000, seed=1)
        torch_shaper.network = types.SimpleNamespace(eps=torch_eps_fn(model.eval()))
        x_onnx, i_onnx = onnx_shaper.generate(3.0)
        x_torch, i_torch = torch_shaper.generate(3.0)
        assert np.max(np.abs(x_onnx - x_torch)) < 1e-4
        assert np.mean(i_onnx == i_torch) > 0.999


def test_ddpm_shaper_refuses_denoisers_and_clamps_once(tiny_shaper, caplog):
    from wigenai.paths import default_model

    with pytest.raises(ValueError, match="kind"):
        shaping.DdpmShaper(str(default_model("denoiser", "16qam")))
    with pytest.raises(ValueError, match="steps"):
        shaping.DdpmShaper(tiny_shaper, "ddim", steps=0)
    shaper = shaping.DdpmShaper(tiny_shaper, symbols=500)
    with caplog.at_level(logging.WARNING, logger="wigenai.shaping"):
        assert shaper.clamp_snr(35.0) == 20.0
        assert shaper.clamp_snr(40.0) == 20.0
        assert shaper.clamp_snr(-30.0) == -10.0
    warnings = [r for r in caplog.records if "outside the model's trained range" in r.msg]
    assert len(warnings) == 1
    assert np.all(np.isfinite(shaper.pmf(40.0)))


def test_shipped_shapers_have_the_shaper_contract():
    from wigenai.model_contract import load_contract
    from wigenai.paths import models_dir

    for order in (16, 64):
        contract = load_contract(
            str(models_dir() / f"shaper-{order}qam.onnx"), kind="shaper"
        )
        assert contract.points.size == order
        assert contract.training_link["snr_db_range"] == [-10.0, 20.0]
