"""Model files: the contract is validated, and the ONNX sampler fails clearly."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import onnx
import pytest
import torch

from wigenai import ddpm
from wigenai.channel import ImpairedChannel, LinkParams
from wigenai.constellation import Constellation
from wigenai.model_contract import (
    METADATA_KEY,
    Contract,
    beta_schedule,
    constellation_entry,
    load_contract,
)
from wigenai.ort_sampler import DdpmReceiver, OrtDenoiser, majority

T_TINY = 30


def _contract(variant="unconditional", kind="denoiser") -> Contract:
    return Contract(
        kind=kind,
        variant=variant,
        betas=list(beta_schedule("sigmoid", T_TINY)),
        constellation=constellation_entry("qpsk", Constellation(4).points),
        training_link={"kappa_t": 0.1, "kappa_r": 0.1, "quant_bits": 4, "adc_bits": 4},
    )


@pytest.fixture(scope="module")
def model_path(tmp_path_factory):
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("contract") / "tiny.onnx"
    ddpm.export_onnx(ddpm.EpsilonNetwork(T_TINY, 2, hidden=8), _contract(), str(path))
    return str(path)


def _rewrite(src, dst, edit):
    """Copy ``src`` to ``dst`` with ``edit(doc)`` applied to its contract JSON."""
    model = onnx.load(src)
    for prop in model.metadata_props:
        if prop.key == METADATA_KEY:
            doc = json.loads(prop.value)
            edit(doc)
            prop.value = json.dumps(doc)
    onnx.save(model, str(dst))
    return str(dst)


def test_contract_round_trip(model_path):
    contract = load_contract(model_path)
    assert contract.kind == "denoiser" and contract.variant == "unconditional"
    assert contract.T == T_TINY and contract.input_width == 2
    assert contract.constellation["order"] == 4
    assert np.allclose(contract.points, Constellation(4).points)
    doc = json.loads(
        {p.key: p.value for p in onnx.load(model_path).metadata_props}[METADATA_KEY]
    )
    assert doc["inputs"][0]["name"] == "x" and doc["inputs"][1]["name"] == "t"
    assert doc["outputs"][0]["shape"] == ["B", 2]


def test_missing_file_names_the_file(tmp_path):
    missing = tmp_path / "nope.onnx"
    with pytest.raises(FileNotFoundError, match="nope.onnx"):
        load_contract(str(missing))
    with pytest.raises(FileNotFoundError, match="nope.onnx"):
        OrtDenoiser(str(missing), 0.0)


def test_corrupt_file_names_the_file(tmp_path):
    bad = tmp_path / "garbage.onnx"
    bad.write_bytes(np.random.default_rng(0).bytes(4096))
    with pytest.raises(ValueError, match="garbage.onnx.*not a readable ONNX"):
        load_contract(str(bad))


def test_model_without_contract(tmp_path, model_path):
    model = onnx.load(model_path)
    del model.metadata_props[:]
    bare = tmp_path / "bare.onnx"
    onnx.save(model, str(bare))
    with pytest.raises(ValueError, match="bare.onnx: no 'wigenai' contract"):
        load_contract(str(bare))


def test_wrong_kind(tmp_path, model_path):
    with pytest.raises(
        ValueError, match="contract field 'kind' is 'denoiser', expected 'shaper'"
    ):
        load_contract(model_path, kind="shaper")
    shaper = _rewrite(
        model_path, tmp_path / "shaper.onnx", lambda d: d.update(kind="shaper")
    )
    with pytest.raises(
        ValueError,
        match="shaper.onnx: contract field 'kind' is 'shaper', expected 'denoiser'",
    ):
        OrtDenoiser(shaper, 0.0)


def test_wrong_input_width(tmp_path, model_path):
    lying = _rewrite(
        model_path, tmp_path / "width.onnx", lambda d: d.update(variant="conditional")
    )
    with pytest.raises(ValueError, match="width.onnx: contract field 'variant'.*width 2"):
        load_contract(lying)


def test_unknown_format_version(tmp_path, model_path):
    future = _rewrite(
        model_path, tmp_path / "future.onnx", lambda d: d.update(format_version=2)
    )
    with pytest.raises(ValueError, match="future.onnx: contract field 'format_version'"):
        load_contract(future)


@pytest.mark.parametrize(
    "field,value",
    [
        ("betas", [0.5, 1.5]),
        ("T", 7),
        ("input_scale", -1.0),
        ("constellation", {"order": 4}),
    ],
)
def test_bad_fields_are_named(tmp_path, model_path, field, value):
    broken = _rewrite(
        model_path, tmp_path / "broken.onnx", lambda d: d.update({field: value})
    )
    with pytest.raises(ValueError, match=f"contract field '{field}'"):
        load_contract(broken)


@pytest.mark.parametrize(
    "options,name",
    [
        ({"steps": 0}, "steps"),
        ({"steps": T_TINY + 1}, "steps"),
        ({"runs": 0}, "runs"),
        ({"batch_size": 0}, "batch_size"),
        ({"sampler": "euler"}, "sampler"),
        ({"combine": "median"}, "combine"),
        ({"threads": 0}, "threads"),
    ],
)
def test_sampler_options_are_validated(model_path, options, name):
    with pytest.raises(ValueError, match=name):
        OrtDenoiser(model_path, 0.0, **options)


def test_steps_up_to_t_are_accepted(model_path):
    den = OrtDenoiser(model_path, -10.0, steps=T_TINY)
    assert den.calls_per_symbol == den.start_step + 1


@pytest.mark.parametrize("sampler", ["ddim", "ddpm"])
def test_far_out_of_range_inputs_stay_finite(model_path, sampler):
    link = LinkParams(-5.0, kappa_t=0.1, kappa_r=0.1, quant_bits=4, adc_bits=4)
    y = ImpairedChannel(link, seed=0)(Constellation(4).map(np.arange(400) % 4))
    den = OrtDenoiser(model_path, -5.0, link=link, sampler=sampler, runs=2, seed=1)
    for gain in (10.0, 1e3):
        x0 = den.denoise(y * gain)
        assert np.all(np.isfinite(x0))
        decided = den.decide(y * gain)
        assert decided.min() >= 0 and decided.max() < 4


def test_majority_vote_breaks_ties_to_lowest_index():
    votes = np.array([[3, 1, 2], [3, 2, 0], [1, 2, 1]])
    assert list(majority(votes, 4)) == [3, 2, 0]


def test_vote_and_mean_runs(model_path):
    y = np.array([0.3 + 0.2j, -1.0 + 0.5j, 0.01 - 0.02j])
    for combine in ("vote", "mean"):
        den = OrtDenoiser(
            model_path, 0.0, sampler="ddpm", runs=5, combine=combine, seed=2
        )
        assert den.decide(y).shape == (3,)


@pytest.mark.parametrize("fading", [False, True])
def test_receiver_for_the_ber_runner(model_path, fading):
    receiver = DdpmReceiver(model_path, batch_size=64)
    assert receiver.name == "ddpm" and receiver.bits_per_symbol == 2
    link = LinkParams(
        -3.0, kappa_t=0.1, kappa_r=0.1, quant_bits=4, adc_bits=4, fading=fading
    )
    channel = ImpairedChannel(link, seed=3)
    y, h = channel.transmit(Constellation(4).map(np.arange(1000) % 4))
    decided = receiver.decide(y, h, channel)
    assert decided.shape == (1000,) and decided.min() >= 0 and decided.max() < 4
    assert receiver.denoiser.link == link


def test_sampler_module_does_not_import_torch(model_path):
    code = (
        "import sys, numpy as np\n"
        "from wigenai.ort_sampler import OrtDenoiser\n"
        f"OrtDenoiser({model_path!r}, -5.0).decide(np.ones(8, complex))\n"
        "assert 'torch' not in sys.modules\n"
    )
    import wigenai

    source = str(__import__("pathlib").Path(wigenai.__file__).parents[1])
    subprocess.run(
        [sys.executable, "-c", code], check=True, env={"PYTHONPATH": source, "PATH": ""}
    )
