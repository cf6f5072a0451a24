#!/usr/bin/env python3
"""QA for ddpm_shaper_c: the C++ source gives the library's DDPM shaping pmf."""

import numpy as np

from gnuradio import blocks, gr, gr_unittest
from gnuradio.wigenai import ddpm_shaper_c
from wigenai.paths import default_model
from wigenai.shaping import DdpmShaper


def entropy(p):
    p = np.asarray(p)
    p = p[p > 0]
    return float(-(p * np.log2(p)).sum())


class qa_ddpm_shaper_c(gr_unittest.TestCase):
    def assert_same_pmf(self, cpp, lib, n):
        """Every entry within 5 standard errors of the difference of two estimates."""
        p = (np.asarray(cpp) + np.asarray(lib)) / 2
        sigma = np.sqrt(2 * p * (1 - p) / n) + 1e-12
        self.assertTrue(np.all(np.abs(np.asarray(cpp) - lib) < 5 * sigma + 1e-9))

    def test_ddim_pmf_equals_the_library_shaper(self):
        # At -10 dB DDIM favours the inner points: a pmf far from uniform to compare.
        for order in (16, 64):
            block = ddpm_shaper_c(order, "", -10.0, "ddim", warmup_symbols=40000, seed=3)
            lib = DdpmShaper(
                str(default_model("shaper", f"{order}qam")), "ddim", symbols=40000, seed=3
            ).pmf(-10.0)
            self.assertLess(entropy(lib), np.log2(order) - 0.3)
            self.assert_same_pmf(block.pmf(), lib, 40000)

    def test_ancestral_pmf_is_the_prior_and_the_stream_follows_it(self):
        block = ddpm_shaper_c(16, "", 5.0, "ddpm", warmup_symbols=5000, seed=1)
        self.assertGreater(entropy(block.pmf()), 3.97)
        n = 20000
        tb = gr.top_block()
        sink = blocks.vector_sink_c()
        tb.connect(block, blocks.head(gr.sizeof_gr_complex, n), sink)
        tb.run()
        out = np.array(sink.data())
        self.assertEqual(out.size, n)
        self.assertTrue(np.all(np.isfinite(out)))
        points = np.array(block.points())
        index = np.argmin(np.abs(out[:, None] - points[None, :]), axis=1)
        self.assertLess(float(np.max(np.abs(out - points[index]))), 1e-6)
        self.assertAlmostEqual(float(np.mean(np.abs(out) ** 2)), 1.0, delta=0.03)
        self.assertGreater(entropy(np.bincount(index, minlength=16) / n), 3.97)

    def test_snr_outside_the_trained_range_is_clamped(self):
        block = ddpm_shaper_c(16, "", 20.0, "ddim", warmup_symbols=1000)
        top = block.start_step()
        block.set_snr_db(40.0)
        self.assertEqual(block.start_step(), top)
        self.assertEqual(block.snr_db(), 40.0)
        block.set_snr_db(-5.0)
        self.assertGreater(block.start_step(), top)

    def test_bad_parameters_name_themselves(self):
        cases = [
            (dict(order=32), "order"),
            (dict(model_file=str(default_model("denoiser", "16qam"))), "kind"),
            (
                dict(order=64, model_file=str(default_model("shaper", "16qam"))),
                "constellation",
            ),
            (dict(sampler="euler"), "sampler"),
            (dict(steps=0), "steps"),
            (dict(warmup_symbols=10), "warmup_symbols"),
            (dict(snr_db=float("nan")), "snr_db"),
            (dict(threads=0), "threads"),
        ]
        for kwargs, word in cases:
            with self.assertRaisesRegex(ValueError, word, msg=kwargs):
                ddpm_shaper_c(**kwargs)


if __name__ == "__main__":
    gr_unittest.run(qa_ddpm_shaper_c)
