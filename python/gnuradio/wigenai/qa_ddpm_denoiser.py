#!/usr/bin/env python3
"""QA for ddpm_denoiser: the block runs the library's ONNX sampler, item for item."""

import os
import tempfile

import numpy as np
import pmt
import torch

from gnuradio import blocks, gr, gr_unittest
from gnuradio.wigenai import ddpm_denoiser
from wigenai import ddpm
from wigenai.constellation import Constellation
from wigenai.model_contract import Contract, beta_schedule, constellation_entry
from wigenai.ort_sampler import OrtDenoiser

T_TINY = 30


def export_tiny(path, order=4, seed=0):
    """An untrained tiny denoiser: enough to prove the block equals the library."""
    torch.manual_seed(seed)
    model = ddpm.EpsilonNetwork(T_TINY, in_features=2, hidden=16, layers=3)
    name = "qpsk" if order == 4 else f"{order}qam"
    contract = Contract(
        kind="denoiser",
        variant="unconditional",
        betas=list(beta_schedule("sigmoid", T_TINY)),
        constellation=constellation_entry(name, Constellation(order).points),
        training_link={"kappa_t": 0.1, "kappa_r": 0.1, "quant_bits": 4, "adc_bits": 4},
    )
    ddpm.export_onnx(model, contract, path)


def esn0_tag(offset, value):
    """An ``esn0_db`` stream tag at item ``offset`` (a float, or any pmt)."""
    value = value if isinstance(value, pmt.pmt_base) else pmt.from_double(value)
    return gr.tag_utils.python_to_tag((offset, pmt.intern("esn0_db"), value))


def run_block(block, samples, tags=(), out_tags=None):
    """Run ``samples`` (with stream ``tags``) through ``block``; the tags on its output
    are appended to ``out_tags`` when given."""
    tb = gr.top_block()
    src = blocks.vector_source_c(samples.astype(np.complex64).tolist(), False, 1, tags)
    out = blocks.vector_sink_c()
    tb.connect(src, block, out)
    bits = None
    if block.output_signature().max_streams() == 2:
        bits = blocks.vector_sink_b()
        tb.connect((block, 1), bits)
    tb.run()
    if out_tags is not None:
        out_tags.extend(out.tags())
    return np.array(out.data()), None if bits is None else np.array(bits.data())


class qa_ddpm_denoiser(gr_unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.model = os.path.join(cls.tmp.name, "tiny-qpsk.onnx")
        export_tiny(cls.model)
        rng = np.random.default_rng(4)
        pts = Constellation(4).points[rng.integers(0, 4, 5000)]
        cls.y = pts + 0.3 * (rng.standard_normal(5000) + 1j * rng.standard_normal(5000))

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def test_block_equals_library_sampler(self):
        block = ddpm_denoiser(
            "qpsk", self.model, snr_db=3.0, steps=3, batch_size=700, decisions=True
        )
        out, bits = run_block(block, self.y)
        ref = OrtDenoiser(self.model, 3.0, steps=3)
        y32 = self.y.astype(np.complex64).astype(np.complex128)
        expected = ref.denoise(y32)
        self.assertEqual(out.size, self.y.size)
        self.assertLess(np.max(np.abs(out - expected)), 1e-5)
        np.testing.assert_array_equal(bits, ref.nearest(out.astype(np.complex128)))

    def test_runtime_snr_changes_the_start_step(self):
        block = ddpm_denoiser("qpsk", self.model, snr_db=-20.0, steps=2)
        low = block._denoiser.start_step
        block.set_snr_db(10.0)
        self.assertLess(block._denoiser.start_step, low)
        self.assertEqual(block.snr_db(), 10.0)
        with self.assertRaisesRegex(ValueError, "snr_db"):
            block.set_snr_db(float("nan"))

    def test_esn0_tags_start_each_segment_at_the_measured_snr(self):
        # Measured Es/N0 from items 700 and 2100 on; the tag at 1500 is not a number
        # and is ignored. Work calls of at most 512 items make the tags straddle them.
        y = self.y[:3000]
        tags = [
            esn0_tag(700, 12.0),
            esn0_tag(1500, pmt.intern("loud")),
            esn0_tag(2100, -3.0),
        ]
        block = ddpm_denoiser("qpsk", self.model, snr_db=3.0, steps=3, batch_size=300)
        block.set_max_noutput_items(512)
        out_tags = []
        out, _ = run_block(block, y, tags, out_tags)

        ref = OrtDenoiser(self.model, 3.0, steps=3)
        y32 = y.astype(np.complex64).astype(np.complex128)
        steps, expected = [], []
        for lo, hi, esn0_db in ((0, 700, None), (700, 2100, 12.0), (2100, 3000, -3.0)):
            if esn0_db is not None:
                ref.set_measured_snr_db(esn0_db)
            steps.append(ref.start_step)
            expected.append(ref.denoise(y32[lo:hi]))
        self.assertEqual(len(set(steps)), 3, steps)
        self.assertLess(np.max(np.abs(out - np.concatenate(expected))), 1e-5)
        self.assertEqual(block.start_step(), steps[-1])
        self.assertEqual(block.esn0_db(), -3.0)
        self.assertEqual([t.offset for t in out_tags], [700, 1500, 2100])

        block.set_snr_db(3.0)
        self.assertTrue(np.isnan(block.esn0_db()))
        self.assertEqual(block.start_step(), steps[0])

    def test_nonfinite_and_far_out_inputs_stay_finite(self):
        y = self.y[:1000].copy()
        y[::7] = np.nan
        y[3] = np.inf
        y[10:500] *= 10.0  # a 20 dB gain error
        block = ddpm_denoiser("qpsk", self.model, snr_db=0.0)
        out, _ = run_block(block, y)
        self.assertTrue(np.all(np.isfinite(out)))
        self.assertEqual(block.nonfinite_count(), int(np.sum(~np.isfinite(y))))
        self.assertEqual(block.nonfinite_output_count(), 0)

    def test_bad_settings_name_the_parameter(self):
        cases = [
            (dict(steps=0), "steps"),
            (dict(steps=T_TINY + 1), "steps"),
            (dict(runs=-1, sampler="ddpm"), "runs"),
            (dict(batch_size=0), "batch_size"),
            (dict(threads=0), "threads"),
            (dict(sampler="euler"), "sampler"),
        ]
        for kwargs, name in cases:
            with self.assertRaisesRegex(ValueError, name):
                ddpm_denoiser("qpsk", self.model, **kwargs)

    def test_bad_model_files_name_the_file(self):
        missing = os.path.join(self.tmp.name, "missing.onnx")
        with self.assertRaisesRegex((ValueError, FileNotFoundError), "missing.onnx"):
            ddpm_denoiser("qpsk", missing)
        corrupt = os.path.join(self.tmp.name, "corrupt.onnx")
        with open(corrupt, "wb") as fh:
            fh.write(os.urandom(256))
        with self.assertRaisesRegex(ValueError, "corrupt.onnx"):
            ddpm_denoiser("qpsk", corrupt)
        with self.assertRaisesRegex(ValueError, "constellation"):
            ddpm_denoiser("16qam", self.model)
        with self.assertRaisesRegex(ValueError, "modulation"):
            ddpm_denoiser("8psk", self.model)


if __name__ == "__main__":
    gr_unittest.run(qa_ddpm_denoiser)
