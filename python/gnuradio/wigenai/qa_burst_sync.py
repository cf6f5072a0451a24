#!/usr/bin/env python3
"""QA for burst_sync: the block streams the library receiver's results, tagged."""

import numpy as np
import pmt

from gnuradio import blocks, gr, gr_unittest
from gnuradio.wigenai import burst_sync
from wigenai.burst import BurstReceiver, FrameFormat, build_stream, known_payload

SEED = 11


def received(n_bursts=5, modulation="16qam", esn0_db=25.0, cfo_per_symbol=0.03):
    """A stream of test bursts (``known_payload(SEED, seq, 40 + 10 seq)``) with a
    carrier offset, a gain and a phase, and AWGN at ``esn0_db``."""
    fmt = FrameFormat()
    payloads = [known_payload(SEED, seq, 40 + 10 * seq) for seq in range(n_bursts)]
    x, starts = build_stream(payloads, fmt, modulation)
    rng = np.random.default_rng(5)
    n = np.arange(x.size)
    sigma = np.sqrt(10 ** (-esn0_db / 10) / 2)
    noise = sigma * (rng.standard_normal(x.size) + 1j * rng.standard_normal(x.size))
    rotation = np.exp(2j * np.pi * cfo_per_symbol / fmt.sps * n + 0.7j)
    y = 0.3 * (x * rotation + noise)
    return y.astype(np.complex64), starts, payloads


def run(block, samples, max_out=None):
    """Run ``samples`` through ``block``; (symbols out, sink, messages on bursts)."""
    src = blocks.vector_source_c(samples.tolist())
    sink = blocks.vector_sink_c()
    store = blocks.message_debug()
    tb = gr.top_block()
    tb.connect(src, block, sink)
    tb.msg_connect(block, "bursts", store, "store")
    if max_out:
        block.set_max_noutput_items(max_out)
    tb.run()
    messages = [pmt.to_python(store.get_message(i)) for i in range(store.num_messages())]
    return np.array(sink.data()), sink, messages


class qa_burst_sync(gr_unittest.TestCase):
    def test_outputs_the_library_receivers_symbols_with_tags(self):
        y, starts, payloads = received()
        reference = BurstReceiver().process(y.astype(np.complex128))
        self.assertEqual(len(reference), len(payloads))
        self.assertTrue(all(r.crc_ok for r in reference))

        # Output calls of at most 100 symbols: every burst straddles several.
        block = burst_sync()
        out, sink, messages = run(block, y, max_out=100)

        expected = np.concatenate([r.symbols for r in reference])
        self.assertEqual(out.size, expected.size)
        self.assertLess(np.max(np.abs(out - expected)), 1e-4)
        firsts = np.cumsum([0] + [r.symbols.size for r in reference[:-1]])
        tags = {}
        for tag in sink.tags():
            key = pmt.symbol_to_string(tag.key)
            tags.setdefault(key, []).append((tag.offset, pmt.to_python(tag.value)))
        self.assertEqual(
            tags["packet_len"],
            [(f, r.symbols.size) for f, r in zip(firsts, reference, strict=True)],
        )
        for (offset, esn0_db), first, ref in zip(
            tags["esn0_db"], firsts, reference, strict=True
        ):
            self.assertEqual(offset, first)
            self.assertAlmostEqual(esn0_db, ref.snr_db, places=2)
            self.assertGreater(esn0_db, 20.0)
        for (offset, info), first, start, payload, ref in zip(
            tags["burst"], firsts, starts, payloads, reference, strict=True
        ):
            self.assertEqual(offset, first)
            self.assertEqual(info["seq"], ref.seq)
            self.assertEqual(info["length"], len(payload))
            self.assertEqual(info["modulation"], "16qam")
            self.assertEqual(info["start"], start)
            self.assertAlmostEqual(info["cfo_per_symbol"], 0.03, places=3)
            self.assertTrue(info["header_ok"])

        self.assertEqual([m["start"] for m in messages], starts)
        self.assertTrue(all(m["crc_ok"] and m["complete"] for m in messages))
        self.assertEqual((block.bursts(), block.headers_ok(), block.lost()), (5, 5, 0))

    def test_a_stream_ending_inside_a_burst_counts_it_lost(self):
        y, starts, _ = received(n_bursts=3)
        cut = starts[2] + 900  # inside the third burst's payload
        block = burst_sync()
        out, sink, _ = run(block, y[:cut])
        self.assertEqual(block.bursts(), 3)
        self.assertEqual(block.lost(), 1)
        self.assertEqual(len([t for t in sink.tags() if t.key == pmt.intern("burst")]), 2)
        self.assertTrue(np.all(np.isfinite(out)))

    def test_nonfinite_samples_are_replaced_and_counted(self):
        y, starts, _ = received(n_bursts=2)
        y[3:9] = np.nan  # in the guard before the first burst
        y[starts[1] - 5] = np.inf
        block = burst_sync()
        out, _, messages = run(block, y)
        self.assertEqual(block.nonfinite_count(), 7)
        self.assertTrue(np.all(np.isfinite(out)))
        self.assertEqual(len(messages), 2)
        self.assertTrue(all(m["crc_ok"] for m in messages))

    def test_bad_parameters_name_themselves(self):
        cases = [
            (dict(sps=1), "sps"),
            (dict(rolloff=1.5), "rolloff"),
            (dict(span=1), "span"),
            (dict(pilot_spacing=-1), "pilot_spacing"),
            (dict(threshold=1.0), "threshold"),
            (dict(eq_taps=0), "eq_taps"),
            (dict(max_payload=70000), "max_payload"),
        ]
        for kwargs, name in cases:
            with self.assertRaisesRegex(ValueError, name, msg=kwargs):
                burst_sync(**kwargs)


if __name__ == "__main__":
    gr_unittest.run(qa_burst_sync)
