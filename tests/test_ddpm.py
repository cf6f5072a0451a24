"""The denoising DDPM: network, schedule, training, export and both samplers agree."""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch

from wigenai import ddpm, train_denoiser
from wigenai.channel import ImpairedChannel, LinkParams
from wigenai.constellation import Constellation
from wigenai.model_contract import (
    Contract,
    DiffusionSchedule,
    beta_schedule,
    constellation_entry,
    effective_snr,
    load_contract,
)
from wigenai.ort_sampler import OrtDenoiser, ddim_chain, ddpm_chain

T_TINY = 40


def _export_tiny(path, variant: str, seed: int = 0):
    """Untrained tiny network (random weights are enough to compare implementations)."""
    torch.manual_seed(seed)
    width = 4 if variant == "conditional" else 2
    model = ddpm.EpsilonNetwork(T_TINY, in_features=width, hidden=16, layers=3)
    betas = beta_schedule("sigmoid", T_TINY)
    contract = Contract(
        kind="denoiser",
        variant=variant,
        betas=list(betas),
        constellation=constellation_entry("qpsk", Constellation(4).points),
        training_link={"kappa_t": 0.1, "kappa_r": 0.1, "quant_bits": 4, "adc_bits": 4},
    )
    ddpm.export_onnx(model, contract, str(path))
    return model.eval(), DiffusionSchedule(betas)


@pytest.fixture(scope="module", params=["unconditional", "conditional"])
def tiny(request, tmp_path_factory):
    path = tmp_path_factory.mktemp("ddpm") / f"{request.param}.onnx"
    model, schedule = _export_tiny(path, request.param)
    return request.param, model, schedule, str(path)


def test_softplus_matches_torch():
    x = torch.linspace(-60, 60, 10001)
    ref = torch.nn.functional.softplus(x, threshold=1000)
    assert torch.max(torch.abs(ddpm.softplus(x) - ref)) < 1e-6


@pytest.mark.parametrize("name", ["sigmoid", "linear", "cosine"])
def test_default_schedules_reach_below_minus_30_db(name):
    schedule = DiffusionSchedule(beta_schedule(name, 100))
    snr_db = schedule.step_snr_db()
    assert np.all(np.diff(snr_db) < 0)
    assert snr_db[-1] < -30.0
    assert snr_db[0] > 10.0


def test_start_step_within_schedule_resolution():
    schedule = DiffusionSchedule(beta_schedule("sigmoid", 100))
    base = LinkParams(0.0, kappa_t=0.1, kappa_r=0.1, quant_bits=4, adc_bits=4)
    for snr_db in np.arange(-25.0, 0.5, 0.5):
        snr = effective_snr(base.replace(snr_db=float(snr_db)))
        t = schedule.start_step(snr)
        # input_scale sqrt(2): abar / (1 - abar) = 2 snr / scale^2 = snr.
        target = math.log(snr)
        gaps = np.abs(np.diff(schedule.log_ratio))
        half_gap = 0.5 * max(gaps[max(t - 1, 0)], gaps[min(t, gaps.size - 1)])
        assert abs(schedule.log_ratio[t] - target) <= half_gap + 1e-12


def test_start_state_has_the_matched_noise_level():
    """The 3 dB trap: the scaled start state carries noise of variance 1 - abar_t*."""
    schedule = DiffusionSchedule(beta_schedule("sigmoid", 100))
    link = LinkParams(-10.0)
    t = schedule.start_step(effective_snr(link))
    x = Constellation(4).map(np.random.default_rng(0).integers(0, 4, 200_000))
    y = ImpairedChannel(link, seed=1)(x)
    state = schedule.start_state(y, t)
    clean = math.sqrt(schedule.alpha_bar[t]) * math.sqrt(2.0)
    noise = state - clean * np.stack([x.real, x.imag], axis=1)
    ratio = np.var(noise) / (1.0 - schedule.alpha_bar[t])
    step_ratio = math.exp(np.max(np.abs(np.diff(schedule.log_ratio[t - 1 : t + 2]))) / 2)
    assert 1 / step_ratio - 0.02 < ratio < step_ratio + 0.02


def test_start_state_is_clipped_and_finite():
    schedule = DiffusionSchedule(beta_schedule("sigmoid", 100))
    y = np.array([1e6 + 1e6j, np.nan, np.inf - 1j * np.inf, 0.1])
    state = schedule.start_state(y, 10)
    assert np.all(np.isfinite(state)) and np.max(np.abs(state)) <= 20.0


def test_onnx_graph_matches_torch(tiny):
    variant, model, schedule, path = tiny
    graph_ops = {node.op_type for node in onnx.load(path).graph.node}
    assert "Softplus" not in graph_ops and {"Relu", "Exp", "Log", "Abs"} <= graph_ops
    session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(1)
    width = 4 if variant == "conditional" else 2
    for t in (0, 1, 17, T_TINY - 1):
        for batch in (1, 333):
            x = (3 * rng.standard_normal((batch, width))).astype(np.float32)
            got = session.run(["eps"], {"x": x, "t": np.array(t, dtype=np.int64)})[0]
            with torch.no_grad():
                want = model(torch.from_numpy(x), torch.tensor(t)).numpy()
            assert got.shape == (batch, 2)
            assert np.max(np.abs(got - want)) <= 1e-5


def _decisions_agree(den, x0_a, x0_b, scale):
    """Same decisions wherever the estimate is not within 1e-3 of a boundary."""
    a = x0_a / scale
    b = x0_b / scale
    margin = np.min(np.abs(np.concatenate([a, b], axis=1)), axis=1)  # QPSK: axes
    keep = margin > 1e-3
    assert keep.mean() > 0.95
    da = den.nearest(a[:, 0] + 1j * a[:, 1])
    db = den.nearest(b[:, 0] + 1j * b[:, 1])
    assert np.array_equal(da[keep], db[keep])


def _start(schedule, t, n=2000, seed=2):
    y = ImpairedChannel(LinkParams(-5.0), seed=seed)(
        Constellation(4).map(np.random.default_rng(seed).integers(0, 4, n))
    )
    return schedule.start_state(y, t)


@pytest.mark.parametrize("steps", [1, 3, 7])
def test_ddim_ort_matches_torch(tiny, steps):
    variant, model, schedule, path = tiny
    den = OrtDenoiser(path, -5.0, steps=steps)
    t = T_TINY - 5
    x_start = _start(schedule, t)
    cond = x_start if variant == "conditional" else None
    want = ddpm.sample_ddim(model, schedule, x_start, t, steps, cond)
    got = ddim_chain(den.eps, schedule, x_start, t, steps, cond)
    assert np.max(np.abs(got - want)) < 1e-3
    _decisions_agree(den, got, want, schedule.input_scale)


def test_ddpm_ancestral_ort_matches_torch(tiny):
    variant, model, schedule, path = tiny
    den = OrtDenoiser(path, -5.0, sampler="ddpm")
    t = T_TINY - 3
    x_start = _start(schedule, t)
    cond = x_start if variant == "conditional" else None
    rng = np.random.default_rng(3)
    noise = {s: rng.standard_normal(x_start.shape) for s in range(1, t + 1)}
    want = ddpm.sample_ddpm(model, schedule, x_start, t, noise.__getitem__, cond)
    got = ddpm_chain(den.eps, schedule, x_start, t, noise.__getitem__, cond)
    assert np.max(np.abs(got - want)) < 1e-3
    _decisions_agree(den, got, want, schedule.input_scale)


def test_denoiser_decide_matches_torch_pipeline(tiny):
    variant, model, schedule, path = tiny
    link = LinkParams(-8.0, kappa_t=0.1, kappa_r=0.1, quant_bits=4, adc_bits=4)
    x = Constellation(4).map(np.random.default_rng(4).integers(0, 4, 3000))
    y = ImpairedChannel(link, seed=5)(x)
    den = OrtDenoiser(path, -8.0, link=link, steps=2)
    t = schedule.start_step(effective_snr(link))
    assert den.start_step == t
    x_start = schedule.start_state(y, t)
    cond = x_start if variant == "conditional" else None
    want = ddpm.sample_ddim(model, schedule, x_start, t, 2, cond) / schedule.input_scale
    agree = den.decide(y) == den.nearest(want[:, 0] + 1j * want[:, 1])
    assert agree.mean() > 0.995


def test_ema_tracks_parameters():
    model = torch.nn.Linear(2, 2)
    ema = ddpm.Ema(model, decay=0.5)
    before = ema.model.weight.clone()
    with torch.no_grad():
        model.weight.add_(1.0)
    ema.update(model)
    assert torch.allclose(ema.model.weight, before + 0.5)
    with pytest.raises(ValueError, match="ema_decay"):
        ddpm.Ema(model, decay=1.0)


TINY_CONFIG = {
    "diffusion": {"T": T_TINY},
    "network": {"hidden": 16},
    "training": {"steps": 60, "batch_size": 64, "data_block": 2048, "ema_decay": 0.9},
}


@pytest.mark.parametrize("variant", ["unconditional", "conditional"])
def test_training_run_writes_a_loadable_model(tmp_path, variant):
    out = tmp_path / "tiny.onnx"
    summary = train_denoiser.run({**TINY_CONFIG, "variant": variant}, str(out))
    assert len(summary["loss_curve"]) == 10
    assert all(math.isfinite(v) for v in summary["loss_curve"])
    contract = load_contract(str(out))
    assert contract.variant == variant and contract.T == T_TINY
    assert contract.training_link["kappa_t"] == 0.1
    assert contract.training_link["snr_db_range"] == [-25.0, 0.0]
    assert contract.network["hidden"] == 16 and contract.ema == 0.9
    assert abs(contract.input_scale - math.sqrt(2)) < 1e-12
    den = OrtDenoiser(str(out), -10.0)
    assert den.decide(np.array([1 + 1j, -1 - 1j])).shape == (2,)


def test_config_rejects_unknown_keys():
    with pytest.raises(ValueError, match="training.stepz"):
        train_denoiser.merge_config({"training": {"stepz": 1}})
    with pytest.raises(ValueError, match="variant"):
        train_denoiser.merge_config({"variant": "bidirectional"})
    with pytest.raises(ValueError, match="modulation"):
        train_denoiser.merge_config({"modulation": "8psk"})


@pytest.mark.parametrize(
    "name,variant",
    [("qpsk", "unconditional"), ("16qam", "conditional"), ("64qam", "conditional")],
)
def test_shipped_configs_state_the_defaults(name, variant):
    """The YAML files document the defaults: they must not drift from the code.

    They differ from the defaults only in the modulation and, where it measured
    better (docs/REPRODUCTION.md), the network variant.
    """
    root = Path(__file__).resolve().parents[1]
    config = train_denoiser.load_config(str(root / "configs" / f"denoiser-{name}.yaml"))
    merged = train_denoiser.merge_config(config)
    assert merged == {**train_denoiser.DEFAULTS, "modulation": name, "variant": variant}
    assert set(config) == set(train_denoiser.DEFAULTS)
    for key, value in train_denoiser.DEFAULTS.items():
        if isinstance(value, dict):
            assert set(config[key]) == set(value), key
    shipped = load_contract(str(root / "models" / f"denoiser-{name}.onnx"))
    assert shipped.variant == variant
    assert shipped.training_link == train_denoiser.contract_link(merged)
    assert shipped.constellation["name"] == name


@pytest.mark.parametrize(
    "section,key,value",
    [
        ("training", "steps", 0),
        ("training", "batch_size", -1),
        ("training", "lr", 0.0),
        ("training", "ema_decay", 1.0),
        ("diffusion", "T", 1),
        ("network", "hidden", "x"),
        ("training", "data_block", 16),
    ],
)
def test_config_rejects_bad_numbers(section, key, value):
    with pytest.raises(ValueError, match=f"{section}.{key}"):
        train_denoiser.merge_config({section: {key: value}})


def test_cli_main_reports_a_bad_config(tmp_path, caplog):
    bad = tmp_path / "bad.yaml"
    bad.write_text("training:\n  stepz: 3\n")
    args = argparse.Namespace(config=str(bad), out=str(tmp_path / "m.onnx"), seed=None)
    assert train_denoiser.main(args) == 2
    assert "training.stepz" in caplog.text
    assert not (tmp_path / "m.onnx").exists()


@pytest.mark.parametrize("sampler", ["ddim", "ddpm"])
def test_chains_recover_a_point_mass_with_the_exact_epsilon(sampler):
    """With the ideal network of a one-point prior, both chains must land on the point.

    For x0 = c the exact noise prediction is (x_t - sqrt(abar_t) c) / sqrt(1 - abar_t);
    a wrong coefficient anywhere in a chain moves the end point away from c.
    """
    schedule = DiffusionSchedule(beta_schedule("sigmoid", 100))
    c = np.array([[0.7, -1.1]])

    def exact_eps(x, t):
        ab = schedule.alpha_bar[t]
        return (x - np.sqrt(ab) * c) / np.sqrt(1.0 - ab)

    rng = np.random.default_rng(4)
    x_start = 3.0 * rng.standard_normal((50, 2))
    if sampler == "ddim":
        x0 = ddim_chain(exact_eps, schedule, x_start, 80, 3)
    else:
        x0 = ddpm_chain(
            exact_eps, schedule, x_start, 80, lambda t: rng.standard_normal((50, 2))
        )
    assert np.allclose(x0, c, atol=1e-9)


def test_ddim_chain_on_a_gaussian_prior_matches_the_closed_form():
    """For x0 ~ N(0, s^2) the exact epsilon is linear in x_t, so every DDIM step is a
    scalar gain (a' a s^2 + b' b) / (a^2 s^2 + b^2), a = sqrt(abar), b = sqrt(1 - abar),
    primes for the next step; the chain must equal the product of the gains."""
    schedule = DiffusionSchedule(beta_schedule("sigmoid", 100))
    s2 = 0.5

    def exact_eps(x, t):
        a, b = np.sqrt(schedule.alpha_bar[t]), np.sqrt(1.0 - schedule.alpha_bar[t])
        return b * x / (a * a * s2 + b * b)

    x_start = np.random.default_rng(6).standard_normal((20, 2))
    for t_start, steps in ((80, 1), (80, 3), (40, 7)):
        seq = list(schedule.ddim_steps(t_start, steps))
        gain = 1.0
        for i, t in enumerate(seq):
            a, b = np.sqrt(schedule.alpha_bar[t]), np.sqrt(1.0 - schedule.alpha_bar[t])
            ab_next = schedule.alpha_bar[seq[i + 1]] if i + 1 < len(seq) else 1.0
            a2, b2 = np.sqrt(ab_next), np.sqrt(1.0 - ab_next)
            gain *= (a2 * a * s2 + b2 * b) / (a * a * s2 + b * b)
        got = ddim_chain(exact_eps, schedule, x_start, t_start, steps)
        assert np.allclose(got, gain * x_start, rtol=1e-12, atol=1e-12)
