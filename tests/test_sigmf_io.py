"""SigMF recordings: round trips, validation by the sigmf package, and bad files."""

import json
import logging
import warnings

import numpy as np
import pytest
import sigmf

from wigenai.sigmf_io import (
    RecordingError,
    SigmfWriter,
    add_annotations,
    open_recording,
    reconcile_frame,
    write_recording,
)

RATE = 1.0e6


def noise(n, scale=0.3, seed=0):
    rng = np.random.default_rng(seed)
    return (scale * (rng.normal(size=n) + 1j * rng.normal(size=n))).astype(np.complex64)


def sigmf_read(meta):
    """The recording as the sigmf package reads it (SHA-512 checked), validated, with
    no warning (an undeclared namespace would warn)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        handle = sigmf.fromfile(str(meta))
        handle.validate()
    return handle


def rewrite_meta(meta, **global_fields):
    doc = json.loads(meta.read_text())
    doc["global"].update(global_fields)
    meta.write_text(json.dumps(doc))


def test_cf32_round_trip_is_exact_and_valid(tmp_path):
    x = noise(5000)
    annotations = [
        {"start": 10, "length": 100, "label": "burst", "comment": "crc ok", "seq": 3},
        {"start": 2000, "length": 50, "label": "burst", "comment": "", "crc_ok": False},
    ]
    meta = write_recording(
        tmp_path / "rec",
        x,
        RATE,
        center_freq=2.4e9,
        annotations=annotations,
        description="test",
        extra={"wigenai:sps": 4, "wigenai:rolloff": 0.35, "wigenai:modulation": "16qam"},
    )
    assert meta == tmp_path / "rec.sigmf-meta"

    rec = open_recording(meta)
    assert (rec.datatype, rec.n_samples, rec.sample_rate) == ("cf32_le", 5000, RATE)
    assert rec.center_freq == 2.4e9
    assert rec.frame == {"sps": 4, "rolloff": 0.35, "modulation": "16qam"}
    np.testing.assert_array_equal(rec.read(), x)
    np.testing.assert_array_equal(rec.read(4990, 100), x[4990:])
    np.testing.assert_array_equal(np.concatenate(list(rec.chunks(777))), x)
    assert rec.annotations == [
        dict(annotations[0], seq=3),
        dict(annotations[1], crc_ok=False),
    ]

    handle = sigmf_read(meta)
    np.testing.assert_array_equal(handle.read_samples(), x)
    assert handle.get_global_field("core:description") == "test"
    assert handle.get_annotations()[0]["wigenai:seq"] == 3


def test_ci16_round_trip_within_half_a_step(tmp_path):
    x = noise(3000, scale=0.2)
    meta = write_recording(tmp_path / "rec16", x, RATE, datatype="ci16_le")
    assert (tmp_path / "rec16.sigmf-data").stat().st_size == 4 * x.size
    back = open_recording(meta).read()
    assert back.dtype == np.complex64
    step = 1.0 / 32768
    assert np.max(np.abs(back.real - x.real)) <= 0.5 * step + 1e-9
    assert np.max(np.abs(back.imag - x.imag)) <= 0.5 * step + 1e-9
    # the sigmf package scales ci16 by the same 1/32768
    np.testing.assert_allclose(sigmf_read(meta).read_samples(), back, atol=1e-7)


def test_streaming_writer_counts_and_logs_clipping_once(tmp_path, caplog):
    caplog.set_level(logging.WARNING, logger="wigenai.sigmf_io")
    with SigmfWriter(tmp_path / "clip", RATE, datatype="ci16_le") as writer:
        writer.write(np.array([0.5, 1.5, -2.0j], dtype=np.complex64))
        writer.write(np.array([3.0 + 3.0j, 0.25], dtype=np.complex64))
        writer.annotate(1, 1, "clipped", "over full scale")
    assert writer.clipped == 3
    assert writer.samples_written == 5
    messages = [r.getMessage() for r in caplog.records]
    assert sum("clipped; scale the input down" in m for m in messages) == 1
    assert any("3 of 5 samples were clipped" in m for m in messages)
    back = open_recording(tmp_path / "clip.sigmf-meta").read()
    np.testing.assert_allclose(back[1], 32767 / 32768)
    np.testing.assert_allclose(back[2], -1j)


def test_add_annotations_replaces_its_label_and_keeps_the_others(tmp_path):
    meta = write_recording(
        tmp_path / "rec",
        noise(1000),
        RATE,
        annotations=[
            {"start": 5, "length": 10, "label": "operator", "comment": "keep me"},
            {"start": 50, "length": 10, "label": "wigenai_burst", "comment": "old"},
        ],
    )
    count = add_annotations(
        meta,
        [
            {"start": 700, "length": 20, "label": "wigenai_burst", "crc_ok": True},
            {"start": 30, "length": 20, "label": "wigenai_burst", "snr_db": np.inf},
        ],
    )
    assert count == 3
    got = open_recording(meta).annotations
    assert [(a["start"], a["label"]) for a in got] == [
        (5, "operator"),
        (30, "wigenai_burst"),
        (700, "wigenai_burst"),
    ]
    assert got[1]["snr_db"] is None  # JSON has no infinity
    assert got[2]["crc_ok"] is True
    sigmf_read(meta)  # the data are unchanged: the SHA-512 still matches


@pytest.mark.parametrize("datatype", ["ri16_le", "cu8", "cf64_be", "ci32_le"])
def test_unsupported_datatype_names_file_and_field(tmp_path, datatype):
    meta = write_recording(tmp_path / "rec", noise(100), RATE)
    rewrite_meta(meta, **{"core:datatype": datatype})
    with pytest.raises(
        RecordingError, match=rf"rec\.sigmf-meta: core:datatype '{datatype}'"
    ):
        open_recording(meta)


def test_missing_data_file_is_named(tmp_path):
    meta = write_recording(tmp_path / "rec", noise(100), RATE)
    (tmp_path / "rec.sigmf-data").unlink()
    with pytest.raises(
        RecordingError, match=r"rec\.sigmf-data: data file of .*rec\.sigmf-meta"
    ):
        open_recording(meta)
    rewrite_meta(meta, **{"core:dataset": "elsewhere.cf32"})
    with pytest.raises(
        RecordingError, match=r"elsewhere\.cf32: data file named by core:dataset"
    ):
        open_recording(meta)


def test_missing_and_corrupt_metadata_are_named(tmp_path):
    with pytest.raises(RecordingError, match=r"nothing\.sigmf-meta: no such file"):
        open_recording(tmp_path / "nothing.sigmf-meta")
    bad = tmp_path / "bad.sigmf-meta"
    bad.write_text("{not json")
    with pytest.raises(RecordingError, match=r"bad\.sigmf-meta: not a readable JSON"):
        open_recording(bad)
    bad.write_text("[1, 2]")
    with pytest.raises(RecordingError, match=r"bad\.sigmf-meta: no 'global' object"):
        open_recording(bad)


@pytest.mark.parametrize("datatype,extra_bytes", [("cf32_le", 3), ("ci16_le", 2)])
def test_truncated_last_sample_is_dropped_with_a_warning(
    tmp_path, caplog, datatype, extra_bytes
):
    x = noise(100, scale=0.1)
    meta = write_recording(tmp_path / "rec", x, RATE, datatype=datatype)
    with open(tmp_path / "rec.sigmf-data", "ab") as fh:
        fh.write(b"\x01" * extra_bytes)
    caplog.set_level(logging.WARNING, logger="wigenai.sigmf_io")
    rec = open_recording(meta)
    assert rec.n_samples == 100
    (message,) = [r.getMessage() for r in caplog.records]
    assert "rec.sigmf-data: ends inside a sample" in message
    assert f"the last {extra_bytes} bytes are dropped" in message
    np.testing.assert_allclose(rec.read(), x, atol=1.0 / 32768)


def test_sample_rate_disagreement_warns_and_uses_the_file(tmp_path, caplog):
    meta = write_recording(tmp_path / "rec", noise(10), RATE)
    caplog.set_level(logging.WARNING, logger="wigenai.sigmf_io")
    assert open_recording(meta, sample_rate=RATE).sample_rate == RATE
    assert not caplog.records

    assert open_recording(meta, sample_rate=2e6).sample_rate == RATE
    (message,) = [r.getMessage() for r in caplog.records]
    assert "sample rate 2000000 Hz given" in message
    assert "core:sample_rate is 1000000 Hz; using the file's 1000000 Hz" in message

    caplog.clear()
    assert open_recording(meta, sample_rate=2e6, force_rate=True).sample_rate == 2e6
    assert "using 2000000 Hz, as forced" in caplog.records[0].getMessage()


def test_raw_files_by_extension_or_datatype(tmp_path):
    x = noise(64)
    raw32 = tmp_path / "cap.cf32"
    x.astype("<c8").tofile(raw32)
    rec = open_recording(raw32, sample_rate=RATE)
    assert (rec.datatype, rec.sample_rate, rec.meta_path) == ("cf32_le", RATE, None)
    np.testing.assert_array_equal(rec.read(), x)

    raw16 = tmp_path / "cap.ci16"
    iq = np.stack([x.real, x.imag], axis=1) * 32768
    np.rint(iq).astype("<i2").tofile(raw16)
    np.testing.assert_allclose(open_recording(raw16).read(), x, atol=1.0 / 32768)

    other = tmp_path / "cap.bin"
    x.astype("<c8").tofile(other)
    with pytest.raises(RecordingError, match=r"cap\.bin: .*give the datatype"):
        open_recording(other)
    np.testing.assert_array_equal(open_recording(other, datatype="cf32_le").read(), x)
    with pytest.raises(RecordingError, match=r"^datatype: 'cu8' not supported"):
        open_recording(other, datatype="cu8")
    with pytest.raises(RecordingError, match=r"gone\.cf32: no such file"):
        open_recording(tmp_path / "gone.cf32")


def test_frame_keys_are_type_checked_and_reconciled(tmp_path, caplog):
    meta = write_recording(
        tmp_path / "rec",
        noise(10),
        RATE,
        extra={"wigenai:sps": 4, "wigenai:payload_seed": 9},
    )
    recorded = open_recording(meta).frame
    caplog.set_level(logging.WARNING, logger="wigenai.sigmf_io")
    used = reconcile_frame(recorded, {"sps": 8, "payload_seed": None}, "rec")
    assert used == {"sps": 8, "payload_seed": 9}
    (message,) = [r.getMessage() for r in caplog.records]
    assert "recorded with wigenai:sps = 4, replaying with 8 as given" in message

    rewrite_meta(meta, **{"wigenai:sps": "four"})
    with pytest.raises(RecordingError, match=r"global wigenai:sps should be int"):
        open_recording(meta)


@pytest.mark.parametrize(
    "name,kwargs",
    [
        ("datatype", {"datatype": "cu8"}),
        ("sample_rate", {"sample_rate": -1.0}),
        ("sample_rate", {"sample_rate": float("nan")}),
        ("center_freq", {"center_freq": "2.4 GHz"}),
        ("extra", {"extra": {"sps": 4}}),
        ("extra", {"extra": {"core:sample_rate": 5.0}}),
        ("extra", {"extra": {"wigenai:model": object()}}),
        ("description", {"description": 3}),
    ],
)
def test_writer_names_bad_parameters(tmp_path, name, kwargs):
    args = {"base_path": tmp_path / "rec", "sample_rate": RATE, **kwargs}
    with pytest.raises(ValueError, match=rf"^{name}:"):
        SigmfWriter(**args)


def test_writer_needs_an_existing_folder(tmp_path):
    with pytest.raises(ValueError, match=r"^base_path: folder .*missing does not exist"):
        SigmfWriter(tmp_path / "missing" / "rec", RATE)


def test_malformed_annotations_are_refused_by_name(tmp_path):
    with SigmfWriter(tmp_path / "rec", RATE) as writer:
        with pytest.raises(ValueError, match=r"annotation start: expected an integer"):
            writer.annotate(-1)
        with pytest.raises(ValueError, match=r"annotation length"):
            writer.annotate(0, length=2.5)
        with pytest.raises(ValueError, match=r"annotation blob: a bytes cannot"):
            writer.annotate(0, blob=b"x")
    with pytest.raises(ValueError, match=r"'start' \(first sample\) is missing"):
        add_annotations(tmp_path / "rec.sigmf-meta", [{"length": 3}])
