"""Tests of the model-free autoencoder benchmark (wigenai.autoencoder).

Every test trains tiny models itself; none reads the shipped models.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest
import torch
from onnx import TensorProto, helper

from wigenai import autoencoder as ae
from wigenai.channel import ImpairedChannel, LinkParams
from wigenai.constellation import Constellation

TINY = {
    "order": 4,
    "iterations": 5,
    "rx_steps": 2,
    "rx_batch_size": 64,
    "tx_batch_size": 64,
    "final_rx_steps": 5,
    "rx_hidden": [16],
}

# An easy link: 20 dB, no distortion, no quantizers.
CLEAN_LINK = {"kappa_t": 0.0, "kappa_r": 0.0, "quant_bits": 0, "adc_bits": 0}


@pytest.fixture(scope="module")
def tiny_model():
    return ae.train({**TINY, "order": 16}, progress=False)


@pytest.fixture(scope="module")
def tiny_file(tiny_model, tmp_path_factory):
    path = tmp_path_factory.mktemp("ae") / "tiny.onnx"
    ae.export(tiny_model, path)
    return path


def _symbol_error_rate(points: np.ndarray, snr_db: float, n: int = 20000) -> float:
    """SER of nearest-point decisions for ``points`` on the clean AWGN link."""
    channel = ImpairedChannel(LinkParams(snr_db=snr_db, **CLEAN_LINK), seed=7)
    messages = np.random.default_rng(3).integers(len(points), size=n)
    y, _ = channel.transmit(points[messages])
    decided = np.argmin(np.abs(y[:, None] - points[None, :]), axis=1)
    return float(np.mean(decided != messages))


def test_points_have_unit_average_energy(tiny_model):
    fresh = ae.Autoencoder.initial(
        ae.resolve_config({"order": 16}), torch.Generator().manual_seed(5)
    )
    for model in (fresh, tiny_model):
        assert np.mean(np.abs(model.constellation()) ** 2) == pytest.approx(1.0, abs=1e-6)


def test_export_load_round_trip(tiny_model, tiny_file):
    receiver = ae.AutoencoderReceiver(tiny_file)
    meta = ae.read_metadata(tiny_file)
    messages = np.asarray(meta["messages"])
    np.testing.assert_array_equal(messages, np.argsort(tiny_model.labels))
    z = np.random.default_rng(0).normal(scale=5.0, size=(500, 2)).astype(np.float32)
    y = z[:, 0] + 1j * z[:, 1]

    with torch.no_grad():
        expected = tiny_model.logits(torch.from_numpy(z)).numpy()[:, messages]
    got = receiver.logits(y)
    np.testing.assert_allclose(got, expected, atol=1e-5, rtol=0)

    assert receiver.name == "ae"
    assert receiver.bits_per_symbol == 4
    np.testing.assert_allclose(
        receiver.points, tiny_model.constellation()[messages], atol=1e-12
    )
    np.testing.assert_array_equal(
        receiver.decide(y, np.ones(len(y)), None), np.argmax(expected, axis=1)
    )
    assert np.mean(np.abs(receiver.points) ** 2) == pytest.approx(1.0, abs=1e-12)
    assert meta["kind"] == "autoencoder" and meta["format_version"] == 1
    assert meta["link"]["kappa_t"] == 0.1 and meta["snr_db_range"] == [-25.0, 0.0]


def test_noiseless_symbols_come_back(tmp_path):
    cfg = {
        **TINY,
        "link": CLEAN_LINK,
        "snr_db_range": [30.0, 30.0],
        "init": "qam",
        "tx_lr": 1e-6,
        "final_rx_steps": 300,
        "rx_batch_size": 256,
    }
    path = ae.export(ae.train(cfg, progress=False), tmp_path / "clean.onnx")
    receiver = ae.AutoencoderReceiver(path)
    symbols = np.tile(np.arange(4), 10)
    y = receiver.points[symbols]
    np.testing.assert_array_equal(receiver.decide(y, np.ones(len(y)), None), symbols)


def test_decide_divides_by_the_channel_gain(tiny_file):
    receiver = ae.AutoencoderReceiver(tiny_file)
    y = np.array([0.3 + 0.2j, -1.1 + 0.4j, 2.0 - 3.0j])
    h = np.array([0.5 - 0.5j, 2.0j, -1.5 + 0.0j])
    np.testing.assert_array_equal(
        receiver.decide(y * h, h, None), receiver.decide(y, np.ones(3), None)
    )


def test_inference_needs_only_onnxruntime(tiny_file):
    code = (
        "import sys, numpy as np\n"
        "from wigenai.autoencoder import AutoencoderReceiver\n"
        f"rx = AutoencoderReceiver({str(tiny_file)!r})\n"
        "rx.decide(np.ones(4, complex), np.ones(4), None)\n"
        "extra = {'torch', 'onnx'} & set(sys.modules)\n"
        "assert not extra, f'inference imported {extra}'\n"
    )
    env = dict(os.environ, PYTHONPATH=str(Path(ae.__file__).parents[1]))
    subprocess.run([sys.executable, "-c", code], check=True, env=env)


def test_policy_gradient_spreads_a_collapsed_constellation():
    cfg = ae.resolve_config(
        {
            "order": 4,
            "link": CLEAN_LINK,
            "snr_db_range": [20.0, 20.0],
            "iterations": 250,
            "rx_steps": 3,
            "rx_batch_size": 256,
            "tx_batch_size": 512,
            "tx_lr": 1e-2,
            "rx_lr": 3e-3,
            "final_rx_steps": 0,
            "rx_hidden": [32],
            "labelling": "binary",
            "seed": 2,
        }
    )
    model = ae.Autoencoder.initial(cfg, torch.Generator().manual_seed(2))
    with torch.no_grad():  # all four points in a small cloud around 1 + 0j
        cloud = 0.05 * torch.randn(4, 2, generator=torch.Generator().manual_seed(4))
        model.raw_points.copy_(torch.tensor([[1.0, 0.0]]) + cloud)
    before = _symbol_error_rate(model.constellation(), 20.0)

    ae.train(cfg, progress=False, model=model)
    after = _symbol_error_rate(model.constellation(), 20.0)
    assert before > 0.3
    assert after < 0.05, f"SER {before:.3f} -> {after:.3f}"


def test_qam_init_starts_from_qam():
    cfg = ae.resolve_config({"order": 16, "init": "qam"})
    model = ae.Autoencoder.initial(cfg, torch.Generator().manual_seed(0))
    np.testing.assert_allclose(model.constellation(), Constellation(16).points, atol=1e-6)


@pytest.mark.parametrize("order", [4, 16])
def test_gray_labels_give_neighbours_one_bit_apart(order):
    qam = Constellation(order).points
    rng = np.random.default_rng(order)
    shuffled = rng.permutation(order)
    learned = np.conj(qam[shuffled]) * np.exp(1j * np.deg2rad(31.0))
    labels = ae.gray_labels(learned, order)

    assert sorted(labels) == list(range(order))
    dist = np.abs(learned[:, None] - learned[None, :])
    nearest = dist < dist[dist > 0].min() * 1.01
    np.fill_diagonal(nearest, False)
    for m, k in zip(*np.nonzero(nearest), strict=True):
        assert bin(labels[m] ^ labels[k]).count("1") == 1


def test_missing_file_is_named(tmp_path):
    path = tmp_path / "absent.onnx"
    with pytest.raises(ae.AutoencoderModelError, match="absent.onnx"):
        ae.AutoencoderReceiver(path)


def test_corrupt_file_is_named(tmp_path):
    path = tmp_path / "corrupt.onnx"
    path.write_bytes(b"\x00\x01 not a protobuf \xff" * 10)
    with pytest.raises(ae.AutoencoderModelError, match="corrupt.onnx"):
        ae.AutoencoderReceiver(path)


def _identity_model(path: Path, metadata: dict | None) -> Path:
    graph = helper.make_graph(
        [helper.make_node("Identity", ["y"], ["logits"])],
        "g",
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 2])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", 2])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    if metadata is not None:
        helper.set_model_props(model, {"wigenai": json.dumps(metadata)})
    onnx.save(model, str(path))
    return path


def test_model_without_metadata_is_rejected(tmp_path):
    path = _identity_model(tmp_path / "plain.onnx", None)
    with pytest.raises(ae.AutoencoderModelError, match="plain.onnx.*no 'wigenai'"):
        ae.AutoencoderReceiver(path)


def test_wrong_kind_is_rejected(tmp_path):
    path = _identity_model(tmp_path / "ddpm.onnx", {"format_version": 1, "kind": "ddpm"})
    with pytest.raises(ae.AutoencoderModelError, match="ddpm.onnx.*kind is 'ddpm'"):
        ae.AutoencoderReceiver(path)


def test_wrong_version_is_rejected(tmp_path, tiny_file):
    meta = ae.read_metadata(tiny_file)
    path = _identity_model(tmp_path / "v9.onnx", {**meta, "format_version": 9})
    with pytest.raises(ae.AutoencoderModelError, match="v9.onnx.*format_version 9"):
        ae.AutoencoderReceiver(path)


def test_config_errors_name_the_file_and_key(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("order: 4\nsigma_2: 0.01\n")
    with pytest.raises(ValueError, match=r"bad.yaml.*sigma_2"):
        ae.load_config(path)
    path.write_text("order: 4\nlink: {noise: cauchy}\n")
    with pytest.raises(ValueError, match=r"bad.yaml.*noise"):
        ae.load_config(path)


def test_shipped_configs_resolve():
    configs = Path(__file__).parents[1] / "configs"
    for name, order in (("autoencoder-qpsk.yaml", 4), ("autoencoder-16qam.yaml", 16)):
        cfg = ae.load_config(configs / name)
        assert cfg["order"] == order and cfg["init"] == "random"
        assert cfg["sigma2"] == 0.01 and cfg["rx_steps"] == 10


def test_command_line_trains_and_exports(tmp_path, caplog):
    config = tmp_path / "tiny.yaml"
    config.write_text(json.dumps(TINY))  # JSON is YAML
    out = tmp_path / "models" / "tiny.onnx"
    parser = argparse.ArgumentParser()
    ae.add_arguments(parser)
    args = parser.parse_args(
        ["--config", str(config), "--out", str(out), "--seed", "3", "--no-progress"]
    )
    assert ae.main(args) == 0
    assert ae.read_metadata(out)["training"]["seed"] == 3

    bad = parser.parse_args(["--config", str(tmp_path / "nope.yaml"), "--out", str(out)])
    with caplog.at_level(logging.ERROR):
        assert ae.main(bad) == 2
    assert "nope.yaml" in caplog.text
