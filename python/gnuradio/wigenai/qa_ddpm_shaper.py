#!/usr/bin/env python3
"""QA for ddpm_shaper and ccdm_dematcher: the blocks run the library, item for item."""

import numpy as np

from gnuradio import blocks, gr, gr_unittest
from gnuradio.wigenai import ccdm_dematcher, ddpm_shaper
from wigenai.matcher import CcdmMatcher
from wigenai.paths import default_model
from wigenai.shaping import ShapedQam


def run_shaper(block, bits=None, n_out=None):
    tb = gr.top_block()
    sink = blocks.vector_sink_c()
    if bits is None:
        head = blocks.head(gr.sizeof_gr_complex, n_out)
        tb.connect(block, head, sink)
    else:
        tb.connect(blocks.vector_source_b(bits.tolist()), block, sink)
    tb.run()
    return np.array(sink.data())


def run_dematcher(block, indices):
    tb = gr.top_block()
    sink = blocks.vector_sink_b()
    tb.connect(blocks.vector_source_b(indices.astype(np.uint8).tolist()), block, sink)
    tb.run()
    return np.array(sink.data(), dtype=np.uint8)


def nearest(samples, points):
    return np.argmin(np.abs(samples[:, None] - np.asarray(points)[None, :]), axis=1)


class qa_ddpm_shaper(gr_unittest.TestCase):
    def test_generator_draws_the_pmf_at_unit_energy(self):
        block = ddpm_shaper(order=16, mode="generator", pmf_source="mb", snr_db=5.0)
        n = 200_000
        out = run_shaper(block, n_out=n)
        self.assertEqual(out.size, n)
        pmf = np.asarray(block.pmf())
        counts = np.bincount(nearest(out, block.points()), minlength=16)
        sigma = np.sqrt(n * pmf * (1 - pmf))
        self.assertTrue(np.all(np.abs(counts - n * pmf) < 5 * sigma + 1))
        self.assertAlmostEqual(float(np.mean(np.abs(out) ** 2)), 1.0, delta=0.01)
        self.assertTrue(np.all(np.isfinite(out)))

    def test_data_mode_equals_the_library_matcher_and_round_trips(self):
        shaper = ddpm_shaper(order=16, mode="data", pmf_source="ba", snr_db=8.0)
        library = CcdmMatcher(ShapedQam(16, "ba", 8.0).pmf, 1024)
        k = shaper.bits_per_block()
        self.assertEqual(k, library.bits_per_block)
        bits = np.random.default_rng(1).integers(0, 2, 5 * k).astype(np.uint8)
        out = run_shaper(shaper, bits)
        self.assertEqual(out.size, 5 * 1024)
        indices = nearest(out, shaper.points())
        np.testing.assert_array_equal(indices, library.encode(bits))
        back = run_dematcher(ccdm_dematcher(16, "ba", 8.0), indices)
        np.testing.assert_array_equal(back, bits)

    def test_dematcher_reports_a_corrupted_block_and_goes_on(self):
        matcher = CcdmMatcher(ShapedQam(16, "mb", 10.0).pmf, 256)
        bits = np.random.default_rng(2).integers(0, 2, 4 * matcher.bits_per_block)
        indices = matcher.encode(bits.astype(np.uint8))
        block_2 = slice(256, 512)
        indices[block_2][7] = (indices[block_2][7] + 1) % 16  # changes the composition
        dematcher = ccdm_dematcher(16, "mb", 10.0, block_symbols=256)
        out = run_dematcher(dematcher, indices)
        k = matcher.bits_per_block
        self.assertEqual(out.size, 4 * k)
        self.assertEqual(dematcher.failed_blocks(), 1)
        self.assertEqual(dematcher.decoded_blocks(), 4)
        np.testing.assert_array_equal(out[k : 2 * k], 0)
        for b in (0, 2, 3):
            np.testing.assert_array_equal(
                out[b * k : (b + 1) * k], bits[b * k : (b + 1) * k]
            )

    def test_snr_setter_changes_the_pmf(self):
        block = ddpm_shaper(order=64, mode="data", pmf_source="mb", snr_db=5.0)
        low = np.asarray(block.pmf())
        block.set_snr_db(20.0)
        high = np.asarray(block.pmf())
        self.assertGreater(-np.sum(high * np.log2(high)), -np.sum(low * np.log2(low)))
        with self.assertRaisesRegex(ValueError, "snr_db"):
            block.set_snr_db(float("nan"))

    def test_nonbinary_bytes_are_counted(self):
        shaper = ddpm_shaper(
            order=16, mode="data", pmf_source="uniform", block_symbols=64
        )
        k = shaper.bits_per_block()
        bits = np.random.default_rng(3).integers(0, 2, 2 * k).astype(np.uint8)
        bits[3] = 7
        out = run_shaper(shaper, bits)
        self.assertEqual(out.size, 128)
        self.assertEqual(shaper.nonbinary_count(), 1)

    def test_bad_parameters_name_themselves(self):
        cases = [
            (dict(mode="burst"), "mode"),
            (dict(order=32), "order"),
            (dict(pmf_source="gauss"), "pmf_source"),
            (dict(pmf_source="custom", pmf=[0.5, 0.5]), "pmf"),
            (dict(pmf_source="custom", pmf=[-0.1] + [1.1 / 15] * 15), "pmf"),
            (dict(block_symbols=0), "block_symbols"),
            (dict(snr_db=float("inf")), "snr_db"),
            (dict(pmf_source="file", pmf_file="/nonexistent.json"), "nonexistent"),
            (
                dict(
                    pmf_source="ddpm", model_file=str(default_model("denoiser", "16qam"))
                ),
                "kind",
            ),
        ]
        for kwargs, word in cases:
            with self.assertRaisesRegex(
                (ValueError, FileNotFoundError), word, msg=kwargs
            ):
                ddpm_shaper(**kwargs)


if __name__ == "__main__":
    gr_unittest.run(qa_ddpm_shaper)
