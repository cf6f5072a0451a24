"""Tests of the joint geometric and probabilistic shaping benchmark (wigenai.stark).

Every test trains tiny models itself; none reads a shipped file.
"""

from __future__ import annotations

import argparse
import json
import logging
import math

import numpy as np
import pytest
import torch

from wigenai import stark
from wigenai.constellation import Constellation
from wigenai.metrics import mutual_information

# Short but not trivial: enough for the bound at 10 dB to clear the one at 0 dB.
SHORT = {"steps": 300, "batch_size": 512, "eval_batch": 100000}
# Only exercises the code paths.
TINY = {"steps": 5, "batch_size": 64, "hidden": [8], "eval_batch": 1000}


@pytest.fixture(scope="module")
def trained():
    """16 points trained briefly at 0 and 10 dB."""
    return {snr: stark.train_point(16, snr, SHORT, seed=3) for snr in (0.0, 10.0)}


@pytest.fixture(scope="module")
def sweep():
    return stark.train_sweep(16, [0.0, 10.0], TINY, seed=2, progress=False)


def _complex(record) -> np.ndarray:
    pairs = np.asarray(record["points"])
    return pairs[:, 0] + 1j * pairs[:, 1]


def _exact_mi(points, pmf, snr_db, n=200000, seed=11):
    """MI of (points, pmf) on AWGN from fresh samples and the exact Gaussian law."""
    rng = np.random.default_rng(seed)
    n0 = 10.0 ** (-snr_db / 10.0)
    sent = rng.choice(points.size, size=n, p=pmf)
    noise = rng.standard_normal(n) + 1j * rng.standard_normal(n)
    y = points[sent] + math.sqrt(n0 / 2.0) * noise
    log_lik = -(np.abs(y[:, None] - points[None, :]) ** 2) / n0 - math.log(math.pi * n0)
    with np.errstate(divide="ignore"):  # a probability may underflow to 0
        log_prior = np.log(pmf)
    return mutual_information(log_lik, sent, log_prior)


# ----- configuration ------------------------------------------------------------------


def test_defaults_merge_and_are_not_shared():
    merged = stark.merge_config(None)
    assert merged == stark.DEFAULTS
    merged["hidden"].append(7)
    assert stark.DEFAULTS["hidden"] == [128, 128]
    assert stark.merge_config({"steps": 10})["steps"] == 10


@pytest.mark.parametrize(
    "config, key",
    [
        ({"stepz": 10}, "stepz"),
        ({"steps": 0}, "steps"),
        ({"steps": 2.5}, "steps"),
        ({"batch_size": True}, "batch_size"),
        ({"lr": -1.0}, "lr"),
        ({"lr_final": 1.0}, "lr_final"),
        ({"temperature": 0}, "temperature"),
        ({"temperature": float("nan")}, "temperature"),
        ({"hidden": []}, "hidden"),
        ({"hidden": [16, 0]}, "hidden"),
        ({"train_pmf": "yes"}, "train_pmf"),
        ({"eval_batch": -5}, "eval_batch"),
    ],
)
def test_config_errors_name_the_key(config, key):
    with pytest.raises(ValueError, match=f"config: .*{key}"):
        stark.merge_config(config)


def test_config_file_errors_name_file_and_key(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("steps: 10\ntemprature: 2.0\n")
    with pytest.raises(ValueError, match=r"bad\.yaml: config: unknown key 'temprature'"):
        stark.load_config(path)
    path.write_text("- a list\n")
    with pytest.raises(ValueError, match=r"bad\.yaml: .*mapping"):
        stark.load_config(path)


def test_shipped_config_is_the_defaults():
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "configs" / "stark.yaml"
    assert stark.load_config(path) == stark.DEFAULTS


def test_bad_order_and_snr_are_refused():
    with pytest.raises(ValueError, match="^order"):
        stark.train_point(12, 0.0, TINY)
    with pytest.raises(ValueError, match="^snr_db"):
        stark.train_point(16, float("inf"), TINY)
    with pytest.raises(ValueError, match="^snrs"):
        stark.train_sweep(16, [], TINY, progress=False)


# ----- the model ----------------------------------------------------------------------


def test_gumbel_sampler_draws_from_the_pmf_and_passes_soft_gradients():
    logits = torch.log(torch.tensor([0.5, 0.3, 0.15, 0.05])).requires_grad_()
    generator = torch.Generator().manual_seed(0)
    onehot, index = stark._gumbel_onehot(logits, 200000, 1.0, generator)
    assert torch.equal(onehot.detach(), torch.nn.functional.one_hot(index, 4).float())
    freq = np.bincount(index.numpy(), minlength=4) / index.numel()
    np.testing.assert_allclose(freq, [0.5, 0.3, 0.15, 0.05], atol=0.005)
    (onehot[:, 0].sum()).backward()
    assert logits.grad is not None and torch.isfinite(logits.grad).all()
    assert logits.grad[0] > 0 > logits.grad[1]


def test_points_have_unit_energy_under_the_pmf():
    raw = torch.randn(16, 2, generator=torch.Generator().manual_seed(1))
    logits = torch.linspace(-2.0, 2.0, 16)
    points = stark._normalized(raw, logits)
    energy = (torch.softmax(logits, 0) * (points**2).sum(1)).sum()
    assert float(energy) == pytest.approx(1.0, abs=1e-5)


def test_trained_point_is_a_normalized_input(trained):
    record = trained[10.0]
    assert set(record) >= {
        "snr_db",
        "order",
        "points",
        "pmf",
        "entropy_bits",
        "ce_bits",
        "bound_bits",
        "train_s",
    }
    assert record["snr_db"] == 10.0 and record["order"] == 16
    pmf = np.asarray(record["pmf"])
    points = _complex(record)
    assert pmf.shape == points.shape == (16,)
    assert np.all(pmf >= 0)
    assert pmf.sum() == pytest.approx(1.0, abs=1e-12)
    assert np.sum(pmf * np.abs(points) ** 2) == pytest.approx(1.0, abs=1e-12)
    ent = -np.sum(pmf * np.log2(pmf))
    assert record["entropy_bits"] == pytest.approx(ent, abs=1e-9)
    assert record["bound_bits"] == pytest.approx(
        record["entropy_bits"] - record["ce_bits"], abs=1e-12
    )
    assert record["train_s"] > 0


def test_bound_is_below_capacity_and_grows_with_snr(trained):
    for snr_db, record in trained.items():
        capacity = math.log2(1.0 + 10.0 ** (snr_db / 10.0))
        slack = 2.0 * record["bound_ci95_bits"] + 1e-3
        assert record["bound_bits"] <= capacity + slack, snr_db
        assert record["bound_bits"] <= record["entropy_bits"] <= 4.0 + 1e-12
    # Brief training gets near the uniform-QAM rates, far apart at 0 and 10 dB.
    assert trained[0.0]["bound_bits"] > 0.8
    assert trained[10.0]["bound_bits"] > 2.8
    assert trained[10.0]["bound_bits"] > trained[0.0]["bound_bits"] + 1.5


def test_shaping_beats_uniform_qam_at_10_db(trained):
    qam = Constellation(16).points
    uniform, half = _exact_mi(qam, np.full(16, 1 / 16), 10.0)
    assert uniform == pytest.approx(3.161, abs=2 * half)
    record = trained[10.0]
    assert record["entropy_bits"] < 3.95  # the pmf left uniform
    assert record["bound_bits"] > uniform + 0.04  # 3.25 after 300 steps


@pytest.mark.parametrize("snr_db", [0.0, 10.0])
def test_bound_is_below_the_true_mutual_information(trained, snr_db):
    record = trained[snr_db]
    mi, half = _exact_mi(_complex(record), np.asarray(record["pmf"]), snr_db)
    # Two independent estimates, each with its 95 % half-width: allow 2 x combined.
    slack = 2.0 * math.hypot(half, record["bound_ci95_bits"])
    assert mi >= record["bound_bits"] - slack
    assert mi <= math.log2(1.0 + 10.0 ** (snr_db / 10.0)) + 2.0 * half


def test_training_is_seeded_and_independent_of_the_sweep(sweep):
    again = stark.train_point(16, 10.0, TINY, seed=2)
    first = sweep["points_by_snr"][1]
    for key in ("points", "pmf", "entropy_bits", "ce_bits", "bound_bits"):
        assert again[key] == first[key], key
    other = stark.train_point(16, 10.0, TINY, seed=3)
    assert other["points"] != first["points"]


def test_frozen_parts_stay_put():
    qam = Constellation(16).points
    geometric = stark.train_point(16, 5.0, {**TINY, "train_pmf": False})
    np.testing.assert_allclose(geometric["pmf"], np.full(16, 1 / 16), atol=1e-12)
    assert geometric["entropy_bits"] == pytest.approx(4.0, abs=1e-9)
    assert not np.allclose(_complex(geometric), qam, atol=1e-4)
    probabilistic = stark.train_point(16, 5.0, {**TINY, "train_points": False})
    assert not np.allclose(probabilistic["pmf"], 1 / 16, atol=1e-6)
    # QAM scaled to unit energy under the learned pmf: the same shape.
    points = _complex(probabilistic)
    scale = points[0] / qam[0]
    assert abs(scale.imag) < 1e-6
    np.testing.assert_allclose(points, scale.real * qam, atol=1e-6)


# ----- files and lookup ---------------------------------------------------------------


def test_sweep_layout(sweep):
    assert sweep["kind"] == "stark" and sweep["format_version"] == 1
    assert sweep["order"] == 16 and sweep["noise"] == "awgn"
    assert sweep["config"] == stark.merge_config(TINY)
    assert [r["snr_db"] for r in sweep["points_by_snr"]] == [0.0, 10.0]


def test_save_load_round_trip(sweep, tmp_path):
    path = tmp_path / "sub" / "stark-16qam.json"
    stark.save(sweep, path)
    assert sorted(p.name for p in path.parent.iterdir()) == ["stark-16qam.json"]
    plain = path.parent / "plain.txt"
    plain.write_text("")  # the mode of a plain write under this umask
    assert path.stat().st_mode == plain.stat().st_mode
    plain.unlink()
    assert stark.load(path) == sweep
    points, pmf = stark.lookup(stark.load(path), 10.0)
    np.testing.assert_array_equal(points, _complex(sweep["points_by_snr"][1]))
    np.testing.assert_array_equal(pmf, sweep["points_by_snr"][1]["pmf"])


def test_load_refuses_bad_files(sweep, tmp_path):
    path = tmp_path / "stark.json"
    with pytest.raises(FileNotFoundError, match="stark.json"):
        stark.load(path)

    path.write_text(json.dumps(sweep)[:-20])
    with pytest.raises(ValueError, match=r"stark\.json: not a JSON file"):
        stark.load(path)

    def broken(edit):
        data = json.loads(json.dumps(sweep))
        edit(data)
        path.write_text(json.dumps(data))
        return path

    cases = [
        (lambda d: d.pop("order"), "'order': missing"),
        (lambda d: d.pop("points_by_snr"), "'points_by_snr': missing"),
        (lambda d: d["points_by_snr"][1].pop("pmf"), r"'points_by_snr\[1\]\.pmf'"),
        (lambda d: d.update(kind="denoiser"), "'kind'"),
        (lambda d: d.update(format_version=2), "'format_version'"),
        (lambda d: d.update(order=12), "'order'"),
        (lambda d: d.update(points_by_snr=[]), "'points_by_snr'"),
        (
            lambda d: d["points_by_snr"][0]["points"].pop(),
            r"'points_by_snr\[0\]\.points'",
        ),
        (
            lambda d: d["points_by_snr"][0]["pmf"].__setitem__(0, 2.0),
            r"'points_by_snr\[0\]\.pmf'",
        ),
        (
            lambda d: d["points_by_snr"][0].update(snr_db="ten"),
            r"'points_by_snr\[0\]\.snr_db'",
        ),
    ]
    for edit, field in cases:
        with pytest.raises(ValueError, match=rf"stark\.json: field {field}"):
            stark.load(broken(edit))

    path.write_text("[1, 2]")
    with pytest.raises(ValueError, match=r"stark\.json: expected a JSON object"):
        stark.load(path)


def test_lookup_picks_the_nearest_snr(sweep):
    low, high = sweep["points_by_snr"]
    for snr_db, record in ((0.0, low), (1.2, low), (8.6, high), (11.5, high)):
        points, pmf = stark.lookup(sweep, snr_db)
        assert points.dtype == np.complex128 and pmf.dtype == np.float64
        np.testing.assert_array_equal(points, _complex(record))
        np.testing.assert_array_equal(pmf, record["pmf"])
    for far in (5.0, 15.0, -5.0):
        with pytest.raises(ValueError, match="^snr_db: .*nearest trained SNR"):
            stark.lookup(sweep, far)


# ----- command line -------------------------------------------------------------------


def _args(*argv):
    parser = argparse.ArgumentParser()
    stark.add_arguments(parser)
    args = parser.parse_args(list(argv))
    args.quiet = True
    return args


def test_main_trains_saves_and_prints(tmp_path, capsys):
    config = tmp_path / "tiny.yaml"
    config.write_text(json.dumps(TINY))
    out = tmp_path / "stark-16qam.json"
    args = _args(
        "--order", "16", "--snr=0:10:5", "--config", str(config), "--out", str(out)
    )
    assert stark.main(args) == 0
    result = stark.load(out)
    assert [r["snr_db"] for r in result["points_by_snr"]] == [0.0, 5.0, 10.0]
    assert result["config"] == stark.merge_config(TINY)
    text = capsys.readouterr().out
    summary = json.loads(text[: text.index("}") + 1])
    assert summary["order"] == 16 and summary["snrs"] == [0.0, 5.0, 10.0]
    table = text[text.index("}") + 1 :].split("\n")
    assert "bound" in table[1] and len([t for t in table if t.strip()]) == 4


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--order", "12"], "order: 12"),
        (["--order", "16", "--snr", "abc"], "--snr"),
        (["--order", "16", "--config", "CONFIG"], "unknown key 'stepz'"),
        (["--order", "16", "--config", "MISSING"], "missing.yaml"),
    ],
)
def test_main_errors_log_one_line_and_return_2(argv, message, tmp_path, caplog):
    bad = tmp_path / "bad.yaml"
    bad.write_text("stepz: 3\n")
    argv = [
        {"CONFIG": str(bad), "MISSING": str(tmp_path / "missing.yaml")}.get(a, a)
        for a in argv
    ]
    out = tmp_path / "out.json"
    with caplog.at_level(logging.ERROR, logger="wigenai.stark"):
        assert stark.main(_args(*argv, "--out", str(out))) == 2
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and message in errors[0].getMessage()
    assert "\n" not in errors[0].getMessage()
    assert not out.exists()
