#!/usr/bin/env python3
"""QA for the impairment blocks and the structured-link models in the denoisers: each
block equals the library, item for item; bad settings are refused naming them."""

import os
import sys
import tempfile

import numpy as np

from gnuradio import blocks, gr, gr_unittest
from gnuradio.wigenai import (
    ddpm_denoiser,
    ddpm_denoiser_cc,
    iq_imbalance,
    pa_model,
    structured_channel,
)
from wigenai.constellation import Constellation
from wigenai.impairments import (
    CarrierOffset,
    DCOffset,
    IQImbalance,
    RappPA,
    SalehPA,
    transmit_stream,
)
from wigenai.ort_sampler import OrtDenoiser
from wigenai.paths import default_model
from wigenai.presets import preset

QAM16 = Constellation.named("16qam")


def symbols(n, seed=0):
    return QAM16.points[np.random.default_rng(seed).integers(0, 16, n)]


def run_block(block, x, chunk=None):
    """``x`` through ``block``; ``chunk`` bounds the items per work() call."""
    tb = gr.top_block()
    src = blocks.vector_source_c(np.asarray(x, np.complex64).tolist())
    out = blocks.vector_sink_c()
    if chunk:
        block.set_max_noutput_items(chunk)
    tb.connect(src, block, out)
    bits = None
    if block.output_signature().max_streams() == 2:
        bits = blocks.vector_sink_b()
        tb.connect((block, 1), bits)
    tb.run()
    return np.array(out.data()), None if bits is None else np.array(bits.data())


def captured(fn):
    """Run ``fn()`` with the process's stdout and stderr (where GNU Radio's console
    logger writes) captured; returns (result, text)."""
    with tempfile.TemporaryFile() as log:
        sys.stdout.flush()
        sys.stderr.flush()
        saved = [os.dup(1), os.dup(2)]
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)
        try:
            result = fn()
        finally:
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            for fd in saved:
                os.close(fd)
        log.seek(0)
        return result, log.read().decode(errors="replace")


class qa_structured_channel(gr_unittest.TestCase):
    def test_channel_equals_the_library_however_the_stream_is_cut(self):
        x = symbols(20_000)
        for link, chunk in (("pluto-like", None), ("harsh", 777)):
            blk = structured_channel(link, 20.0, seed=3, block=4096)
            y, _ = run_block(blk, x, chunk)
            ref = transmit_stream(preset(link, 20.0), x, seed=3, block=4096)
            np.testing.assert_allclose(y, ref, atol=2e-6)
            self.assertEqual(blk.link(), link)

    def test_channel_snr_setter_and_nonfinite_inputs(self):
        x = symbols(5000)
        x[[10, 2000]] = np.nan
        blk = structured_channel("pluto-like", 30.0, seed=1)
        blk.set_snr_db(10.0)
        self.assertEqual(blk.snr_db(), 10.0)
        (y, _), text = captured(lambda: run_block(blk, x))
        self.assertTrue(np.all(np.isfinite(y)))
        self.assertEqual(blk.nonfinite_count(), 2)
        self.assertEqual(text.count("non-finite"), 1, text)
        ref = transmit_stream(preset("pluto-like", 10.0), np.nan_to_num(x), 1)
        np.testing.assert_allclose(y, ref, atol=2e-6)
        with self.assertRaisesRegex(ValueError, "snr_db"):
            blk.set_snr_db(float("nan"))

    def test_bad_channel_settings_name_the_parameter(self):
        cases = [
            (dict(link="pluto"), "link: unknown preset"),
            (dict(overrides={"pa_backoff_db": -8.0}), "pa_backoff_db"),
            (dict(overrides={"rx_iq_phase_deg": 90.0}), "rx_iq_phase_deg"),
            (dict(overrides={"phase_increment_var": -1e-3}), "phase_increment_var"),
            (dict(seed=-1), "seed"),
            (dict(block=0), "block"),
        ]
        for kwargs, message in cases:
            with self.assertRaisesRegex(ValueError, message):
                structured_channel(**kwargs)

    def test_pa_model_equals_the_library(self):
        x = symbols(3000) * 1.1
        for kwargs, stage in (
            (dict(model="rapp", backoff_db=1.0, smoothness=3.0), RappPA(1.0, 3.0)),
            (dict(model="saleh", backoff_db=6.0), SalehPA(6.0)),
        ):
            y, _ = run_block(pa_model(**kwargs), x)
            ref = stage.calibrate(QAM16.points).apply(x)
            np.testing.assert_allclose(y, ref, atol=2e-6)
        with self.assertRaisesRegex(ValueError, "backoff_db"):
            pa_model("rapp", backoff_db=-8.0)
        with self.assertRaisesRegex(ValueError, "model"):
            pa_model("tube")

    def test_iq_imbalance_from_gnuradio_equals_the_library(self):
        x = symbols(3000)
        for side in ("tx", "rx"):
            for amplitude, phase in ((1.0, 5.0), (-1.5, -8.0)):
                y, _ = run_block(iq_imbalance(amplitude, phase, side), x)
                ref = IQImbalance(amplitude, phase, side).apply(x)
                np.testing.assert_allclose(y, ref, atol=2e-6)
        with self.assertRaisesRegex(ValueError, "phase_deg"):
            iq_imbalance(1.0, 90.0, "rx")
        with self.assertRaisesRegex(ValueError, "side"):
            iq_imbalance(1.0, 5.0, "both")

    def test_gnuradio_blocks_that_already_model_an_impairment_equal_the_library(self):
        """Where GNU Radio has the impairment, the module reuses it: a DC offset is
        blocks.add_const_cc, a carrier offset residue blocks.rotator_cc."""
        x = symbols(5000)
        y, _ = run_block(blocks.add_const_cc(0.02 - 0.015j), x)
        np.testing.assert_allclose(y, DCOffset(0.02 - 0.015j).apply(x), atol=2e-6)
        f = 1.5e-3
        y, _ = run_block(blocks.rotator_cc(2 * np.pi * f), x, chunk=999)
        np.testing.assert_allclose(y, CarrierOffset(f).apply(x), atol=1e-4)


class qa_structured_models_in_the_denoisers(gr_unittest.TestCase):
    def test_python_and_cpp_blocks_decide_as_the_library(self):
        model = str(default_model("denoiser", "16qam", "pluto-like"))
        y = transmit_stream(preset("pluto-like", 18.0), symbols(6000, 4), seed=2)
        # Far-out samples too, where the pruned cloud search falls back to all labels.
        rng = np.random.default_rng(8)
        wide = 2.0 * (rng.standard_normal(2000) + 1j * rng.standard_normal(2000))
        y = np.concatenate([y, wide])
        ref = OrtDenoiser(model, 18.0)
        want = ref.nearest(ref.denoise(y))
        for blk in (
            ddpm_denoiser("16qam", model, 18.0, decisions=True, link="pluto-like"),
            ddpm_denoiser_cc("16qam", model, 18.0, decisions=True),
        ):
            x0, bits = run_block(blk, y)
            np.testing.assert_allclose(x0, ref.denoise(y), atol=1e-4)
            np.testing.assert_array_equal(bits, want)

    def test_a_model_of_another_preset_warns_once_naming_it(self):
        model = str(default_model("denoiser", "16qam", "pluto-like"))
        blk, text = captured(lambda: ddpm_denoiser("16qam", model, 25.0, link="harsh"))
        self.assertEqual(text.count("trained for link preset 'pluto-like'"), 1, text)
        self.assertIn("'harsh'", text)
        _, text = captured(lambda: ddpm_denoiser("16qam", model, 25.0, link="pluto-like"))
        self.assertNotIn("trained for link preset", text)
        with self.assertRaisesRegex(ValueError, "link: unknown preset"):
            ddpm_denoiser("16qam", model, 25.0, link="pluto")
        # The C++ block says the same.
        _, text = captured(
            lambda: ddpm_denoiser_cc("16qam", model, 25.0, seed=0, link="harsh")
        )
        self.assertEqual(text.count("trained for link preset 'pluto-like'"), 1, text)
        paper = str(default_model("denoiser", "16qam"))
        _, text = captured(lambda: ddpm_denoiser_cc("16qam", paper, 5.0, link="harsh"))
        self.assertIn("trained for link preset 'paper'", text)
        with self.assertRaisesRegex(ValueError, "link: unknown preset"):
            ddpm_denoiser_cc("16qam", model, 25.0, link="pluto")


if __name__ == "__main__":
    gr_unittest.run(qa_structured_channel)  # runs every test case of this file
