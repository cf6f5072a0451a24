"""``wigenai replay`` on recordings made here: a 20-burst 16-QAM stream through a
5 %-of-symbol-rate carrier offset, a fractional timing offset, 3-tap multipath and
AWGN at an Es/N0 where every CRC passes, written as SigMF (cf32 and ci16) and raw."""

import json
import logging
import shutil

import numpy as np
import pytest
import sigmf

from test_burst import air_channel, burst_stream
from wigenai.cli import main
from wigenai.sigmf_io import open_recording, write_recording

SEED = 11  # burst_stream's payload seed
N_BURSTS = 20
BITS = N_BURSTS * 8 * 100
RATE = 1.0e6
FRAME_KEYS = {
    "wigenai:sps": 4,
    "wigenai:rolloff": 0.35,
    "wigenai:pilot_spacing": 32,
    "wigenai:modulation": "16qam",
    "wigenai:payload_seed": SEED,
    "wigenai:payload_len": 100,
}
RECORD_KEYS = {
    "start",
    "time_s",
    "seq",
    "modulation",
    "pmf_id",
    "length_bytes",
    "snr_db",
    "cfo_per_symbol",
    "cfo_hz",
    "metric",
    "complete",
    "header_ok",
    "paths",
}


@pytest.fixture(scope="module")
def recordings(tmp_path_factory):
    """The test recordings, and the first sample of each burst in them."""
    folder = tmp_path_factory.mktemp("recordings")
    samples, starts = burst_stream(N_BURSTS)
    # an ADC with 12 dB of headroom: the ci16 copy does not clip
    received = 0.25 * air_channel(samples, esn0_db=25.0, seed=4)
    operator_note = {"start": 0, "length": 10, "label": "operator", "comment": "kept"}
    for datatype in ("cf32_le", "ci16_le"):
        write_recording(
            folder / datatype,
            received,
            RATE,
            center_freq=915e6,
            datatype=datatype,
            annotations=[operator_note],
            extra=FRAME_KEYS,
        )
    received.astype("<c8").tofile(folder / "raw.cf32")
    return folder, starts


def replay(*args):
    return main(["-q", "replay", *map(str, args)])


def fresh_copy(folder, tmp_path, name="cf32_le"):
    for ext in (".sigmf-meta", ".sigmf-data"):
        shutil.copy(folder / f"{name}{ext}", tmp_path / f"rec{ext}")
    return tmp_path / "rec.sigmf-meta"


@pytest.mark.parametrize("datatype", ["cf32_le", "ci16_le"])
def test_every_burst_found_and_decoded(recordings, tmp_path, capsys, datatype):
    folder, starts = recordings
    out, plot = tmp_path / "replay.json", tmp_path / "replay.png"
    assert replay(folder / f"{datatype}.sigmf-meta", "--json", out, "--plot", plot) == 0

    doc = json.loads(out.read_text())
    assert doc["datatype"] == datatype and doc["sample_rate"] == RATE
    assert doc["frame"]["payload_seed"] == SEED  # from the recording's keys
    assert doc["paths"] == ["none"]
    bursts = doc["bursts"]
    assert len(bursts) == N_BURSTS
    for record, start in zip(bursts, starts, strict=True):
        assert set(record) == RECORD_KEYS
        assert record["complete"] and record["header_ok"]
        assert record["paths"]["none"] == {"crc_ok": True, "bit_errors": 0, "bits": 800}
        assert 0 <= record["start"] - start <= 1
        assert abs(record["cfo_per_symbol"] - 0.05) < 1e-3
        assert record["cfo_hz"] == pytest.approx(record["cfo_per_symbol"] * RATE / 4)
        assert record["time_s"] == pytest.approx(record["start"] / RATE)
    assert [r["seq"] for r in bursts] == list(range(N_BURSTS))
    totals = doc["totals"]
    assert (totals["bursts"], totals["headers_ok"], totals["lost"]) == (
        N_BURSTS,
        N_BURSTS,
        0,
    )
    assert totals["missing"] == 0
    assert totals["paths"]["none"] == {
        "crc_ok": N_BURSTS,
        "bursts_counted": N_BURSTS,
        "bits": BITS,
        "bit_errors": 0,
        "ber": 0.0,
        "ber_stderr": 0.0,
    }
    assert plot.stat().st_size > 10_000
    printed = capsys.readouterr().out
    assert "bursts found 20, headers ok 20, lost 0" in printed
    assert "CRC ok 20 of 20; bits 16000, bit errors 0" in printed


def test_compare_runs_both_paths_on_the_same_detections(recordings, tmp_path):
    pytest.importorskip("onnxruntime")
    folder, _ = recordings
    out = tmp_path / "compare.json"
    plot = tmp_path / "compare.png"
    assert (
        replay(folder / "cf32_le.sigmf-meta", "--compare", "--json", out, "--plot", plot)
        == 0
    )
    doc = json.loads(out.read_text())
    assert doc["paths"] == ["none", "ddpm"] and doc["denoiser"] == "ddpm"
    for path in ("none", "ddpm"):
        assert doc["totals"]["paths"][path]["crc_ok"] == N_BURSTS
        assert doc["totals"]["paths"][path]["bit_errors"] == 0
        assert doc["totals"]["paths"][path]["bits"] == BITS
    assert plot.stat().st_size > 10_000


def test_annotate_writes_results_back_replacing_its_own(recordings, tmp_path):
    folder, starts = recordings
    meta = fresh_copy(folder, tmp_path)
    assert replay(meta, "--annotate") == 0
    assert replay(meta, "--annotate") == 0  # replaced, not piled up

    rec = open_recording(meta)
    ours = [a for a in rec.annotations if a["label"] == "wigenai_burst"]
    assert len(ours) == N_BURSTS
    assert [a["label"] for a in rec.annotations if a not in ours] == ["operator"]
    for ann, start in zip(ours, starts, strict=True):
        assert 0 <= ann["start"] - start <= 1 and ann["length"] > 1000
        assert ann["crc_ok"] and ann["bit_errors"] == 0 and ann["denoiser"] == "none"
    handle = sigmf.fromfile(str(meta))  # the data (and their SHA-512) are untouched
    handle.validate()


def test_file_cut_inside_the_last_burst_counts_it_lost(recordings, tmp_path, caplog):
    folder, starts = recordings
    meta = fresh_copy(folder, tmp_path)
    data = tmp_path / "rec.sigmf-data"
    with open(data, "r+b") as fh:  # cut in the payload of the last burst, mid-sample
        fh.truncate(8 * (starts[-1] + 900) + 3)
    out = tmp_path / "cut.json"
    caplog.set_level(logging.INFO)
    assert replay(meta, "--json", out) == 0
    doc = json.loads(out.read_text())
    last = doc["bursts"][-1]
    assert len(doc["bursts"]) == N_BURSTS and doc["totals"]["lost"] == 1
    assert not last["complete"] and last["paths"]["none"]["bits"] is None
    assert doc["totals"]["paths"]["none"]["crc_ok"] == N_BURSTS - 1
    assert doc["totals"]["paths"]["none"]["bit_errors"] == 0
    assert "the last 3 bytes are dropped" in caplog.text


def test_raw_file_with_rate_and_seed(recordings, tmp_path, caplog):
    folder, _ = recordings
    out = tmp_path / "raw.json"
    caplog.set_level(logging.INFO)
    rc = replay(
        folder / "raw.cf32", "--rate", RATE, "--payload-seed", SEED, "--json", out
    )
    assert rc == 0
    assert "assuming sps 4, rolloff 0.35, pilot_spacing 32" in caplog.text
    totals = json.loads(out.read_text())["totals"]
    assert totals["paths"]["none"]["crc_ok"] == N_BURSTS
    assert totals["paths"]["none"]["bits"] == BITS


def test_rate_disagreement_warns_and_uses_the_file_unless_forced(
    recordings, tmp_path, caplog
):
    folder, _ = recordings
    meta, out = folder / "cf32_le.sigmf-meta", tmp_path / "rate.json"
    assert replay(meta, "--rate", 2e6, "--json", out) == 0
    assert "using the file's 1000000 Hz" in caplog.text
    assert json.loads(out.read_text())["sample_rate"] == RATE
    assert replay(meta, "--rate", 2e6, "--force-rate", "--json", out) == 0
    doc = json.loads(out.read_text())
    assert doc["sample_rate"] == 2e6
    first = doc["bursts"][0]
    assert first["cfo_hz"] == pytest.approx(first["cfo_per_symbol"] * 2e6 / 4)


def test_frame_option_against_the_recording_warns_and_is_used(
    recordings, tmp_path, caplog
):
    folder, _ = recordings
    out = tmp_path / "frame.json"
    assert (
        replay(folder / "cf32_le.sigmf-meta", "--pilot-spacing", 16, "--json", out) == 0
    )
    assert (
        "recorded with wigenai:pilot_spacing = 32, replaying with 16 as given"
        in caplog.text
    )
    totals = json.loads(out.read_text())["totals"]
    # preamble and header do not depend on the pilots: found, but the payloads fail
    assert totals["headers_ok"] == N_BURSTS
    assert totals["paths"]["none"]["crc_ok"] == 0


def _broken(folder, tmp_path, how):
    meta = fresh_copy(folder, tmp_path)
    if how == "datatype":
        doc = json.loads(meta.read_text())
        doc["global"]["core:datatype"] = "ri16_le"
        meta.write_text(json.dumps(doc))
    elif how == "data":
        (tmp_path / "rec.sigmf-data").unlink()
    return meta


@pytest.mark.parametrize(
    "case,args,message",
    [
        ("missing", ["{tmp}/none.sigmf-meta"], r"none\.sigmf-meta: no such file"),
        ("datatype", ["{meta}"], r"rec\.sigmf-meta: core:datatype 'ri16_le'"),
        ("data", ["{meta}"], r"rec\.sigmf-data: data file of .*rec\.sigmf-meta"),
        ("raw", ["{raw}"], r"--rate: .*raw\.cf32 is a raw file"),
        ("raw", ["{raw}", "--rate", "1e6", "--annotate"], r"--annotate: .*raw\.cf32"),
        ("ok", ["{meta}", "--threshold", "1.5"], r"--threshold: must be in \(0, 1\)"),
        ("ok", ["{meta}", "--ddpm-model", "{tmp}/x.onnx"], r"--ddpm-model: .*x\.onnx"),
        ("ok", ["{meta}", "--chunk", "0"], r"--chunk: must be >= 1"),
        ("ok", ["{raw}", "--rate", "1e6", "--sps", "1"], r"--sps: expected an integer"),
    ],
)
def test_bad_input_is_one_line_and_status_2(
    recordings, tmp_path, capsys, case, args, message
):
    import re

    folder, _ = recordings
    meta = _broken(folder, tmp_path, case)
    names = {"tmp": tmp_path, "meta": meta, "raw": folder / "raw.cf32"}
    assert main(["-q", "replay", *(a.format(**names) for a in args)]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    (line,) = err.strip().splitlines()
    assert line.startswith("wigenai replay: ")
    assert re.search(message, line), line


def test_a_bad_option_value_is_refused_by_argparse(recordings, capsys):
    folder, _ = recordings
    with pytest.raises(SystemExit) as exc:
        main(["replay", str(folder / "raw.cf32"), "--datatype", "cu8"])
    assert exc.value.code == 2
    assert "--datatype: invalid choice: 'cu8'" in capsys.readouterr().err


def test_replayed_samples_are_the_recorded_ones(recordings):
    folder, _ = recordings
    cf32 = open_recording(folder / "cf32_le.sigmf-meta").read()
    ci16 = open_recording(folder / "ci16_le.sigmf-meta").read()
    assert np.max(np.abs(cf32 - ci16)) < 1.0 / 32768
