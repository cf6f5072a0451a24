#!/usr/bin/env python3
"""QA for burst_tx: the block sends the library's bursts, tagged for UHD."""

import time

import numpy as np
import pmt

from gnuradio import blocks, gr, gr_unittest
from gnuradio.wigenai import burst_tx
from wigenai.burst import FrameFormat, build_burst, known_payload


def pdu(payload):
    """A GNU Radio PDU carrying ``payload`` bytes."""
    return pmt.cons(pmt.make_dict(), pmt.init_u8vector(len(payload), list(payload)))


def expected_stream(payloads, fmt, modulation, gap, amplitude=1.0, pmf_id=0):
    """``build_burst``'s samples of each payload, ``gap`` zeros after each, and the
    (start, length) of each burst."""
    parts, spans, pos = [], [], 0
    for seq, payload in enumerate(payloads):
        _, samples = build_burst(payload, fmt, modulation, pmf_id, seq)
        parts += [amplitude * samples, np.zeros(gap)]
        spans.append((pos, samples.size))
        pos += samples.size + gap
    return np.concatenate(parts), spans


def tags_by_key(sink):
    """{key: [(offset, python value), ...]} of a vector sink's tags."""
    found = {}
    for tag in sink.tags():
        key = pmt.symbol_to_string(tag.key)
        found.setdefault(key, []).append((tag.offset, pmt.to_python(tag.value)))
    return found


class qa_burst_tx(gr_unittest.TestCase):
    def check_tags(self, sink, spans):
        tags = tags_by_key(sink)
        self.assertEqual(tags["tx_sob"], [(start, True) for start, _ in spans])
        self.assertEqual(tags["tx_eob"], [(s + n - 1, True) for s, n in spans])
        self.assertEqual(tags["packet_len"], [(s, n) for s, n in spans])
        self.assertEqual(tags["burst_seq"], [(s, i) for i, (s, _) in enumerate(spans)])

    def test_test_mode_sends_build_bursts_samples_and_tags(self):
        fmt = FrameFormat(sps=4, rolloff=0.25, span=8, pilot_spacing=16)
        tx = burst_tx(
            "16qam",
            4,
            0.25,
            8,
            16,
            gap=50,
            mode="test",
            payload_len=20,
            payload_seed=5,
            n_bursts=3,
            amplitude=0.5,
            pmf_id=3,
        )
        # Work calls of at most 300 samples: every burst straddles several.
        tx.set_max_noutput_items(300)
        sink = blocks.vector_sink_c()
        tb = gr.top_block()
        tb.connect(tx, sink)
        tb.run()

        payloads = [known_payload(5, seq, 20) for seq in range(3)]
        expected, spans = expected_stream(payloads, fmt, "16qam", 50, 0.5, 3)
        out = np.array(sink.data())
        self.assertEqual(out.size, expected.size)
        self.assertLess(np.max(np.abs(out - expected)), 1e-6)
        self.check_tags(sink, spans)
        self.assertEqual(tx.bursts(), 3)

    def test_pdus_are_sent_in_order_and_bad_ones_dropped(self):
        fmt = FrameFormat()
        good = [bytes(range(10)), b"", bytes(300)]
        bad = [
            pmt.intern("not a pdu"),
            pmt.cons(pmt.make_dict(), pmt.init_f32vector(3, [1.0, 2.0, 3.0])),
            pdu(bytes(65536)),
        ]
        expected, spans = expected_stream(good, fmt, "qpsk", 10)
        extra = 1000
        tx = burst_tx(gap=10, mode="pdu", idle="zeros")
        for msg in [pdu(good[0]), pdu(good[1])] + bad + [pdu(good[2])]:
            tx.to_basic_block()._post(pmt.intern("pdus"), msg)
        head = blocks.head(gr.sizeof_gr_complex, expected.size + extra)
        sink = blocks.vector_sink_c()
        tb = gr.top_block()
        tb.connect(tx, head, sink)
        tb.run()

        out = np.array(sink.data())
        self.assertLess(np.max(np.abs(out[: expected.size] - expected)), 1e-6)
        np.testing.assert_array_equal(out[expected.size :], 0)
        self.check_tags(sink, spans)
        self.assertEqual(tx.dropped(), 3)
        self.assertEqual(tx.bursts(), 3)

    def test_idle_wait_sends_only_the_bursts(self):
        fmt = FrameFormat()
        good = [bytes(range(40)), bytes(7)]
        expected, spans = expected_stream(good, fmt, "qpsk", 0)
        tx = burst_tx(gap=0, mode="pdu", idle="wait")
        for payload in good:
            tx.to_basic_block()._post(pmt.intern("pdus"), pdu(payload))
        sink = blocks.vector_sink_c()
        tb = gr.top_block()
        tb.connect(tx, sink)
        # In idle "wait" the source never ends by itself: stop it once both bursts
        # are out (the deadline only guards against a hang).
        tb.start()
        deadline = time.monotonic() + 30.0
        while len(sink.data()) < expected.size and time.monotonic() < deadline:
            time.sleep(0.01)
        tb.stop()
        tb.wait()

        out = np.array(sink.data())
        self.assertEqual(out.size, expected.size)
        self.assertLess(np.max(np.abs(out - expected)), 1e-6)
        self.check_tags(sink, spans)

    def test_bad_parameters_name_themselves(self):
        cases = [
            (dict(modulation="8psk"), "modulation"),
            (dict(sps=1), "sps"),
            (dict(rolloff=0.0), "rolloff"),
            (dict(span=1), "span"),
            (dict(pilot_spacing=-1), "pilot_spacing"),
            (dict(gap=-5), "gap"),
            (dict(mode="file"), "mode"),
            (dict(payload_len=70000), "payload_len"),
            (dict(payload_seed=-1), "payload_seed"),
            (dict(n_bursts=-1), "n_bursts"),
            (dict(idle="sleep"), "idle"),
            (dict(amplitude=0.0), "amplitude"),
            (dict(amplitude=float("inf")), "amplitude"),
            (dict(pmf_id=256), "pmf_id"),
        ]
        for kwargs, name in cases:
            with self.assertRaisesRegex(ValueError, name, msg=kwargs):
                burst_tx(**kwargs)
        tx = burst_tx()
        with self.assertRaisesRegex(ValueError, "amplitude"):
            tx.set_amplitude(float("nan"))
        tx.set_amplitude(0.25)
        self.assertEqual(tx.amplitude(), 0.25)


if __name__ == "__main__":
    gr_unittest.run(qa_burst_tx)
