#!/usr/bin/env python3
"""QA for sigmf_sink: a running flowgraph records samples and annotation messages."""

import os
import tempfile
import time
from pathlib import Path

import numpy as np
import pmt
import sigmf

from gnuradio import blocks, gr, gr_unittest
from gnuradio.wigenai import sigmf_sink
from wigenai.burst import BurstReceiver, build_stream, known_payload
from wigenai.sigmf_io import open_recording

WORK_DONE = int(gr.WORK_DONE)


class annotated_source(gr.sync_block):  # noqa: N801 (GNU Radio block naming)
    """Samples from an array; publishes each annotation on ``bursts`` once the
    samples up to its start have been produced (as a receiver would)."""

    def __init__(self, samples, annotations):
        gr.sync_block.__init__(
            self, name="annotated_source", in_sig=None, out_sig=[np.complex64]
        )
        self._samples = np.asarray(samples, dtype=np.complex64)
        self._pending = sorted(annotations, key=lambda a: a["start"])
        self._pos = 0
        self._port = pmt.intern("bursts")
        self.message_port_register_out(self._port)

    def work(self, input_items, output_items):
        out = output_items[0]
        n = min(len(out), 4096, self._samples.size - self._pos)
        if n == 0:
            return WORK_DONE
        out[:n] = self._samples[self._pos : self._pos + n]
        self._pos += n
        while self._pending and self._pending[0]["start"] < self._pos:
            self.message_port_pub(self._port, pmt.to_pmt(self._pending.pop(0)))
        return n


class late_publisher(gr.sync_block):  # noqa: N801 (GNU Radio block naming)
    """Consumes the stream and, on its last samples, publishes the annotations only
    once the sink's samples part has stopped: the order a receiver slower than the
    recorder produces at the end of a file."""

    def __init__(self, annotations, n_samples, sink):
        gr.sync_block.__init__(
            self, name="late_publisher", in_sig=[np.complex64], out_sig=None
        )
        self._annotations = annotations
        self._left = n_samples
        self._sink = sink
        self._port = pmt.intern("bursts")
        self.message_port_register_out(self._port)
        self.was_late = False

    def work(self, input_items, output_items):
        self._left -= len(input_items[0])
        if self._left == 0:
            # Waits on the other block's state, not on time: the bound only keeps a
            # broken scheduler from hanging the test.
            for _ in range(20_000):
                if self._sink._recording.running == 1:
                    self.was_late = True
                    break
                time.sleep(0.001)
            for annotation in self._annotations:
                self.message_port_pub(self._port, pmt.to_pmt(annotation))
        return len(input_items[0])


def burst_recording(n_bursts=4):
    """A short stream of test bursts and the receiver's annotations of it."""
    payloads = [known_payload(7, seq, 24) for seq in range(n_bursts)]
    samples, _ = build_stream(payloads, modulation="16qam")
    results = BurstReceiver().process(samples)
    return samples.astype(np.complex64), [r.to_annotation() for r in results]


def run_sink(sink, samples, annotations):
    tb = gr.top_block()
    source = annotated_source(samples, annotations)
    tb.connect(source, sink)
    tb.msg_connect(source, "bursts", sink, "annotations")
    tb.run()


class qa_sigmf_sink(gr_unittest.TestCase):
    def setUp(self):
        self._tmp = tempfile.TemporaryDirectory()
        self.dir = Path(self._tmp.name)

    def tearDown(self):
        self._tmp.cleanup()

    def test_flowgraph_writes_samples_and_annotations(self):
        samples, annotations = burst_recording()
        self.assertEqual(len(annotations), 4)
        extra = {"wigenai:sps": 4, "wigenai:payload_seed": 7, "wigenai:payload_len": 24}
        sink = sigmf_sink(
            str(self.dir / "rec"),
            "cf32_le",
            sample_rate=2e6,
            center_freq=915e6,
            description="qa",
            extra=extra,
        )
        run_sink(sink, samples, annotations)

        rec = open_recording(self.dir / "rec.sigmf-meta")
        self.assertEqual(rec.n_samples, samples.size)
        np.testing.assert_array_equal(rec.read(), samples)
        self.assertEqual(rec.sample_rate, 2e6)
        self.assertEqual(rec.center_freq, 915e6)
        self.assertEqual(rec.frame, {"sps": 4, "payload_seed": 7, "payload_len": 24})
        self.assertEqual(rec.annotations, annotations)

        handle = sigmf.fromfile(str(self.dir / "rec.sigmf-meta"))  # checks the SHA-512
        handle.validate()
        np.testing.assert_array_equal(handle.read_samples(), samples)
        got = handle.get_annotations()
        self.assertEqual(
            [a["core:sample_start"] for a in got], [a["start"] for a in annotations]
        )
        self.assertTrue(all(a["wigenai:crc_ok"] for a in got))

    def test_annotations_published_after_the_stream_ended_are_kept(self):
        samples, annotations = burst_recording(3)
        sink = sigmf_sink(str(self.dir / "late"), sample_rate=1e6)
        tb = gr.top_block()
        source = blocks.vector_source_c(samples.tolist())
        publisher = late_publisher(annotations, samples.size, sink)
        tb.connect(source, sink)
        tb.connect(source, publisher)
        tb.msg_connect(publisher, "bursts", sink, "annotations")
        tb.run()
        self.assertTrue(publisher.was_late)
        rec = open_recording(self.dir / "late.sigmf-meta")
        self.assertEqual(rec.annotations, annotations)
        self.assertEqual(rec.n_samples, samples.size)

    def test_ci16_recording_is_scaled_and_counts_clipping(self):
        samples, _ = burst_recording(2)
        samples = samples * np.float32(0.5)
        samples[100] = 1.5 + 0j  # beyond full scale
        sink = sigmf_sink(str(self.dir / "rec16"), "ci16_le", sample_rate=1e6)
        run_sink(sink, samples, [])
        self.assertEqual(sink.clipped(), 1)
        back = open_recording(self.dir / "rec16.sigmf-meta").read()
        expected = samples.copy()
        expected[100] = 32767 / 32768
        self.assertLess(float(np.max(np.abs(back - expected))), 1.0 / 32768)

    def test_malformed_messages_are_dropped_not_raised(self):
        samples, annotations = burst_recording(1)
        sink = sigmf_sink(str(self.dir / "rec"), sample_rate=1e6)
        port = pmt.intern("annotations")
        part = sink._annotations.to_basic_block()
        part._post(port, pmt.intern("not a dict"))
        part._post(port, pmt.to_pmt({"start": -5}))
        run_sink(sink, samples, annotations)
        self.assertEqual(sink.annotations_dropped(), 2)
        rec = open_recording(self.dir / "rec.sigmf-meta")
        self.assertEqual(rec.annotations, annotations)

    def test_bad_parameters_are_named(self):
        cases = {
            "datatype": dict(datatype="cu8"),
            "sample_rate": dict(sample_rate=0.0),
            "base_path": dict(base_path=str(self.dir / "missing" / "rec")),
            "extra": dict(extra={"sps": 4}),
            "center_freq": dict(center_freq=float("nan")),
        }
        for name, kwargs in cases.items():
            args = dict(base_path=str(self.dir / "rec"), sample_rate=1e6)
            args.update(kwargs)
            with self.assertRaisesRegex(ValueError, f"^{name}:"):
                sigmf_sink(**args)

    def test_write_failure_ends_the_block_cleanly(self):
        # /dev/full accepts the open and fails every write with ENOSPC: a full disk.
        os.symlink("/dev/full", self.dir / "full.sigmf-data")
        sink = sigmf_sink(str(self.dir / "full"), sample_rate=1e6)
        tb = gr.top_block()
        tb.connect(blocks.vector_source_c(np.zeros(1 << 18).tolist()), sink)
        tb.run()  # returns: the error is logged, not raised through the scheduler
        self.assertLess(sink.samples_written(), 1 << 18)


if __name__ == "__main__":
    gr_unittest.run(qa_sigmf_sink)
