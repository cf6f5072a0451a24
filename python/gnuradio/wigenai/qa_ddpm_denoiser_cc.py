#!/usr/bin/env python3
"""QA for ddpm_denoiser_cc: the C++ block equals the Python block on the same inputs."""

import os
import tempfile

import numpy as np
import pmt

from gnuradio import blocks, gr, gr_unittest
from gnuradio.wigenai import ddpm_denoiser, ddpm_denoiser_cc, hwi_channel_cc
from wigenai.constellation import Constellation
from wigenai.paths import default_model


def received(modulation, snr_db, n, seed=3):
    """Symbols of ``modulation`` through the shipped models' training link."""
    const = Constellation.named(modulation)
    index = np.random.default_rng(seed).integers(0, const.order, n)
    tb = gr.top_block()
    src = blocks.vector_source_c(const.points[index].astype(np.complex64).tolist())
    link = hwi_channel_cc(snr_db, 0.1, 0.1, 4, 4, "awgn", 1.0, 3.0, seed)
    sink = blocks.vector_sink_c()
    tb.connect(src, link, sink)
    tb.run()
    return index, np.array(sink.data())


def run(block, samples, tags=()):
    tb = gr.top_block()
    src = blocks.vector_source_c(samples.astype(np.complex64).tolist(), False, 1, tags)
    out = blocks.vector_sink_c()
    bits = blocks.vector_sink_b()
    tb.connect(src, block, out)
    tb.connect((block, 1), bits)
    tb.run()
    return np.array(out.data()), np.array(bits.data(), dtype=np.int64)


class qa_ddpm_denoiser_cc(gr_unittest.TestCase):
    def test_ddim_equals_the_python_block(self):
        for modulation, snr_db in (("qpsk", -10.0), ("16qam", -5.0), ("16qam", 5.0)):
            _, y = received(modulation, snr_db, 6000)
            kwargs = dict(modulation=modulation, snr_db=snr_db, steps=3, decisions=True)
            x_py, d_py = run(ddpm_denoiser(batch_size=1000, **kwargs), y)
            x_cc, d_cc = run(ddpm_denoiser_cc(batch_size=1000, **kwargs), y)
            self.assertEqual(x_cc.size, y.size)
            self.assertLess(float(np.max(np.abs(x_cc - x_py))), 1e-5, modulation)
            self.assertGreaterEqual(float(np.mean(d_cc == d_py)), 0.9995)

    def test_esn0_tags_give_the_python_blocks_start_steps_and_output(self):
        # burst_sync's measured Es/N0 from items 1000 and 2500 on, in work calls of at
        # most 700 items: both blocks start each segment at the same step.
        _, y = received("16qam", 5.0, 4000)
        key = pmt.intern("esn0_db")
        tags = [
            gr.tag_utils.python_to_tag((offset, key, pmt.from_double(esn0_db)))
            for offset, esn0_db in ((1000, 8.0), (2500, 20.0))
        ]
        kwargs = dict(modulation="16qam", snr_db=5.0, steps=3, decisions=True)
        blocks_ = [ddpm_denoiser(batch_size=1000, **kwargs)]
        blocks_.append(ddpm_denoiser_cc(batch_size=1000, **kwargs))
        outputs = []
        for block in blocks_:
            block.set_max_noutput_items(700)
            outputs.append(run(block, y, tags)[0])
        py, cc = blocks_
        self.assertLess(float(np.max(np.abs(outputs[0] - outputs[1]))), 1e-5)
        self.assertEqual(cc.start_step(), py.start_step())
        self.assertEqual(cc.esn0_db(), 20.0)
        plain = ddpm_denoiser_cc(batch_size=1000, **kwargs)
        self.assertNotEqual(cc.start_step(), plain.start_step())
        cc.set_snr_db(5.0)
        self.assertTrue(np.isnan(cc.esn0_db()))
        self.assertEqual(cc.start_step(), plain.start_step())

    def test_batch_size_and_padding_do_not_change_the_result(self):
        _, y = received("16qam", 0.0, 3000)
        kwargs = dict(modulation="16qam", snr_db=0.0, decisions=True)
        x_a, _ = run(ddpm_denoiser_cc(batch_size=4096, **kwargs), y)
        x_b, _ = run(ddpm_denoiser_cc(batch_size=100, **kwargs), y)
        self.assertLess(float(np.max(np.abs(x_a - x_b))), 1e-5)

    def test_ancestral_ber_matches_within_monte_carlo_error(self):
        const = Constellation(4)
        index, y = received("qpsk", -5.0, 20000)
        bers = []
        for block in (
            ddpm_denoiser("qpsk", snr_db=-5.0, sampler="ddpm", decisions=True),
            ddpm_denoiser_cc("qpsk", snr_db=-5.0, sampler="ddpm", decisions=True, seed=4),
        ):
            _, decided = run(block, y)
            bers.append(const.bit_errors(index, decided) / (2 * index.size))
        p = np.mean(bers)
        sigma = np.sqrt(2 * p * (1 - p) / (2 * index.size))
        self.assertLess(abs(bers[0] - bers[1]), 4 * sigma, bers)

    def test_setters_and_counts(self):
        block = ddpm_denoiser_cc("qpsk", snr_db=-5.0)
        self.assertEqual(block.calls_per_symbol(), 2)
        step = block.start_step()
        block.set_snr_db(-20.0)
        self.assertGreater(block.start_step(), step)
        block.set_sampler("ddpm")
        self.assertEqual(block.calls_per_symbol(), block.start_step() + 1)
        block.set_runs(3)
        self.assertEqual(block.calls_per_symbol(), 3 * (block.start_step() + 1))
        for setter, bad, word in (
            (block.set_snr_db, float("nan"), "snr_db"),
            (block.set_steps, 0, "steps"),
            (block.set_runs, 0, "runs"),
            (block.set_sampler, "euler", "sampler"),
            (block.set_combine, "median", "combine"),
        ):
            with self.assertRaisesRegex(ValueError, word):
                setter(bad)

    def test_bad_model_files_are_refused_with_their_name(self):
        with tempfile.TemporaryDirectory() as folder:
            junk = os.path.join(folder, "junk.onnx")
            with open(junk, "wb") as fh:
                fh.write(b"not a model")
            cases = [
                (dict(model_file=junk), "junk.onnx"),
                (dict(model_file=os.path.join(folder, "none.onnx")), "none.onnx"),
                (dict(model_file=str(default_model("shaper", "16qam"))), "kind"),
                (
                    dict(
                        modulation="16qam",
                        model_file=str(default_model("denoiser", "qpsk")),
                    ),
                    "constellation",
                ),
                (dict(batch_size=0), "batch_size"),
                (dict(threads=0), "threads"),
            ]
            if not ddpm_denoiser_cc.cuda_available():
                cases.append((dict(provider="cuda"), "CUDAExecutionProvider"))
            for kwargs, word in cases:
                with self.assertRaisesRegex(ValueError, word, msg=kwargs):
                    ddpm_denoiser_cc(**kwargs)

    def test_gain_error_of_20_db_stays_finite(self):
        _, y = received("16qam", 0.0, 2000)
        x, _ = run(ddpm_denoiser_cc("16qam", snr_db=0.0, decisions=True), 10.0 * y)
        self.assertTrue(np.all(np.isfinite(x)))


if __name__ == "__main__":
    gr_unittest.run(qa_ddpm_denoiser_cc)
