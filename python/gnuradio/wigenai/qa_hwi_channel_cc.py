#!/usr/bin/env python3
#
# Copyright 2025 The WiGenAI authors.
#
# SPDX-License-Identifier: GPL-3.0-or-later
#
"""QA of hwi_channel_cc: the block against the reference model in wigenai.channel.

The block runs in real top blocks; its output is compared with the library's quantizer
(exactly) and with the library's simulator (statistically).
"""

import os
import sys
import tempfile

import numpy as np

from gnuradio import blocks, gr, gr_unittest, wigenai
from wigenai import channel


def unit_power_qam(n, order=16, seed=1):
    """Random square-QAM symbols of unit average energy, as complex64."""
    side = int(round(np.sqrt(order)))
    levels = np.arange(side) * 2.0 - (side - 1)
    rng = np.random.default_rng(seed)
    x = rng.choice(levels, n) + 1j * rng.choice(levels, n)
    return (x / np.sqrt(2.0 * (side**2 - 1) / 3.0)).astype(np.complex64)


def jittered(n, seed=2, jitter=0.4):
    """Unit-power QAM with Gaussian jitter, so that every quantizer cell gets used."""
    rng = np.random.default_rng(seed)
    x = unit_power_qam(n, 16, seed)
    x = x + jitter * (rng.standard_normal(n) + 1j * rng.standard_normal(n))
    return (x / np.sqrt(np.mean(np.abs(x) ** 2))).astype(np.complex64)


def excess_kurtosis(v):
    v = np.asarray(v, dtype=np.float64)
    v = v - v.mean()
    return np.mean(v**4) / np.mean(v**2) ** 2 - 3.0


class qa_hwi_channel_cc(gr_unittest.TestCase):
    def setUp(self):
        self.tb = gr.top_block()

    def tearDown(self):
        self.tb = None

    def run_block(self, blk, x):
        """Run ``x`` through ``blk`` in a fresh top block; return complex128 output."""
        tb = gr.top_block()
        src = blocks.vector_source_c(np.asarray(x, np.complex64).tolist())
        snk = blocks.vector_sink_c()
        tb.connect(src, blk, snk)
        tb.run()
        y = np.array(snk.data(), dtype=np.complex128)
        self.assertEqual(y.size, len(x))
        return y

    def library(self, seed=5, **kwargs):
        return channel.ImpairedChannel(channel.LinkParams(**kwargs), seed=seed)

    # ----- exact comparisons with the library ---------------------------------------

    def test_001_dac_alone_equals_library_quantize(self):
        x = jittered(20000)
        for bits in (1, 2, 3, 4, 6, 10):
            for full_scale in (1.0, 0.6):
                blk = wigenai.hwi_channel_cc(
                    200.0, quant_bits=bits, dac_full_scale=full_scale, seed=1
                )
                y = self.run_block(blk, x)
                ref = channel.quantize(x.astype(np.complex128), bits, full_scale)
                np.testing.assert_allclose(y, ref, rtol=0, atol=1e-6)
                if bits <= 4:  # every level is used
                    self.assertEqual(len(np.unique(y.real)), 1 << bits)

    def test_002_no_impairment_is_identity(self):
        x = jittered(5000)
        y = self.run_block(wigenai.hwi_channel_cc(300.0), x)
        np.testing.assert_allclose(y, x.astype(np.complex128), rtol=0, atol=1e-6)

    def test_003_adc_levels_equal_library_levels(self):
        x = unit_power_qam(60000)
        for bits, loading, law in (
            (3, 3.0, "awgn"),
            (2, 1.5, "laplace"),
            (4, 2.0, "awgn"),
        ):
            kw = dict(snr_db=5.0, kappa_t=0.1, kappa_r=0.05, adc_bits=bits)
            kw.update(adc_loading=loading, noise=law)
            params = channel.LinkParams(**kw)
            blk = wigenai.hwi_channel_cc(**kw, seed=3)
            self.assertAlmostEqual(blk.adc_full_scale(), params.adc_full_scale, 12)
            self.assertAlmostEqual(blk.n0(), params.n0, 15)
            y = self.run_block(blk, x)
            y_lib = self.library(**kw)(x)
            got = np.unique(np.concatenate([y.real, y.imag]))
            want = np.unique(np.concatenate([y_lib.real, y_lib.imag]))
            self.assertEqual(len(want), 1 << bits)
            self.assertEqual(len(got), len(want))
            np.testing.assert_allclose(got, want, rtol=0, atol=1e-6)

    # ----- statistical comparisons ----------------------------------------------------

    def test_010_distortion_plus_noise_variance(self):
        x = unit_power_qam(200000)
        for law in ("awgn", "laplace"):
            kw = dict(snr_db=10.0, kappa_t=0.2, kappa_r=0.1, noise=law)
            y = self.run_block(wigenai.hwi_channel_cc(**kw, seed=11), x)
            expected = 0.2**2 + 0.1**2 + 10 ** (-1.0)
            measured = np.mean(np.abs(y - x) ** 2)
            self.assertAlmostEqual(measured / expected, 1.0, delta=0.02)
            y_lib = self.library(**kw)(x)
            lib = np.mean(np.abs(y_lib - x) ** 2)
            self.assertAlmostEqual(measured / lib, 1.0, delta=0.03)
            # Circular: equal power on I and Q, no I/Q correlation.
            e = y - x
            self.assertAlmostEqual(np.var(e.real) / np.var(e.imag), 1.0, delta=0.03)
            self.assertLess(abs(np.mean(e.real * e.imag)) / expected, 0.01)

    def test_011_noise_law_kurtosis(self):
        x = np.zeros(200000, np.complex64)
        n0 = 10 ** (-0.3)
        for law, target, tol in (("awgn", 0.0, 0.05), ("laplace", 3.0, 0.4)):
            y = self.run_block(wigenai.hwi_channel_cc(3.0, noise=law, seed=21), x)
            y_lib = self.library(snr_db=3.0, noise=law).noise(x.size)
            for dim in (y.real, y.imag):
                self.assertAlmostEqual(excess_kurtosis(dim), target, delta=tol)
                self.assertAlmostEqual(np.var(dim) / (n0 / 2), 1.0, delta=0.02)
            for dim in (y_lib.real, y_lib.imag):
                self.assertAlmostEqual(excess_kurtosis(dim), target, delta=tol)

    def test_012_distortion_is_gaussian_under_laplace(self):
        # With Laplacian noise the kappa terms stay Gaussian: the kurtosis of the sum
        # of a Gaussian of variance s2 and a Laplacian of variance l2 per dimension is
        # 3 l2^2 / (s2 + l2)^2.
        x = np.zeros(300000, np.complex64)
        kw = dict(snr_db=6.0, kappa_t=0.3, kappa_r=0.2, noise="laplace")
        y = self.run_block(wigenai.hwi_channel_cc(**kw, seed=4), x)
        s2 = (0.3**2 + 0.2**2) / 2
        l2 = 10 ** (-0.6) / 2
        target = 3 * l2**2 / (s2 + l2) ** 2
        self.assertAlmostEqual(excess_kurtosis(y.real), target, delta=0.15)
        self.assertAlmostEqual(np.var(y.real) / (s2 + l2), 1.0, delta=0.02)

    def test_013_full_chain_level_histogram_matches_library(self):
        x = unit_power_qam(100000, 16, seed=8)
        kw = dict(
            snr_db=12.0,
            kappa_t=0.1,
            kappa_r=0.1,
            quant_bits=3,
            adc_bits=4,
            noise="laplace",
        )
        y = self.run_block(wigenai.hwi_channel_cc(**kw, seed=9), x)
        y_lib = self.library(**kw)(x)
        levels = np.unique(np.concatenate([y_lib.real, y_lib.imag]))
        for got, want in ((y.real, y_lib.real), (y.imag, y_lib.imag)):
            idx_got = np.argmin(np.abs(got[:, None] - levels[None, :]), axis=1)
            self.assertLess(np.max(np.abs(got - levels[idx_got])), 1e-6)
            p_got = np.bincount(idx_got, minlength=levels.size) / got.size
            p_want = np.array([np.mean(np.isclose(want, v)) for v in levels])
            # Two independent estimates of one distribution: differences ~ 2e-3.
            self.assertLess(np.max(np.abs(p_got - p_want)), 0.01)
        # Per transmitted symbol, the mean output agrees too.
        for s in np.unique(x)[:4]:
            sel = x == s
            self.assertLess(abs(np.mean(y[sel]) - np.mean(y_lib[sel])), 0.03)

    # ----- runtime setters ---------------------------------------------------------

    def test_020_setters_change_behaviour(self):
        x = unit_power_qam(50000).astype(np.complex128)
        blk = wigenai.hwi_channel_cc(20.0, seed=2)
        src = blocks.vector_source_c(x.tolist())
        snk = blocks.vector_sink_c()
        self.tb.connect(src, blk, snk)

        def run():
            src.rewind()
            snk.reset()
            self.tb.run()
            return np.array(snk.data(), dtype=np.complex128)

        residual = np.mean(np.abs(run() - x) ** 2)
        self.assertAlmostEqual(residual / 0.01, 1.0, delta=0.05)

        blk.set_snr_db(0.0)
        self.assertEqual(blk.snr_db(), 0.0)
        residual = np.mean(np.abs(run() - x) ** 2)
        self.assertAlmostEqual(residual, 1.0, delta=0.05)

        blk.set_kappa_t(0.5)
        blk.set_kappa_r(0.5)
        self.assertEqual((blk.kappa_t(), blk.kappa_r()), (0.5, 0.5))
        residual = np.mean(np.abs(run() - x) ** 2)
        self.assertAlmostEqual(residual, 1.5, delta=0.075)

        blk.set_noise("laplace")
        blk.set_kappa_t(0.0)
        blk.set_kappa_r(0.0)
        self.assertEqual(blk.noise(), "laplace")
        e = run() - x
        self.assertAlmostEqual(excess_kurtosis(e.real), 3.0, delta=0.8)

        blk.set_snr_db(300.0)
        blk.set_quant_bits(2)
        self.assertEqual(blk.quant_bits(), 2)
        np.testing.assert_allclose(run(), channel.quantize(x, 2, 1.0), atol=1e-6)

        blk.set_quant_bits(0)
        blk.set_adc_bits(2)
        self.assertEqual(blk.adc_bits(), 2)
        y = run()
        a = channel.LinkParams(300.0, adc_bits=2).adc_full_scale
        self.assertAlmostEqual(blk.adc_full_scale(), a, 12)
        np.testing.assert_allclose(y, channel.quantize(x, 2, a), atol=1e-6)

        blk.set_adc_bits(0)
        np.testing.assert_allclose(run(), x, atol=1e-6)

    # ----- validation ----------------------------------------------------------------

    def test_030_invalid_construction_raises_value_error(self):
        bad = [
            ("snr_db", dict(snr_db=float("nan"))),
            ("snr_db", dict(snr_db=float("inf"))),
            ("kappa_t", dict(snr_db=10.0, kappa_t=-0.1)),
            ("kappa_t", dict(snr_db=10.0, kappa_t=float("inf"))),
            ("kappa_r", dict(snr_db=10.0, kappa_r=float("nan"))),
            ("quant_bits", dict(snr_db=10.0, quant_bits=17)),
            ("quant_bits", dict(snr_db=10.0, quant_bits=-1)),
            ("adc_bits", dict(snr_db=10.0, adc_bits=99)),
            ("noise", dict(snr_db=10.0, noise="rayleigh")),
            ("dac_full_scale", dict(snr_db=10.0, dac_full_scale=0.0)),
            ("dac_full_scale", dict(snr_db=10.0, dac_full_scale=float("nan"))),
            ("adc_loading", dict(snr_db=10.0, adc_loading=-1.0)),
        ]
        for name, kwargs in bad:
            with self.assertRaises(ValueError) as ctx:
                wigenai.hwi_channel_cc(**kwargs)
            self.assertIn(name, str(ctx.exception))
            # The reference model rejects the same values.
            with self.assertRaises(ValueError):
                channel.LinkParams(**kwargs)

    def test_031_invalid_setter_raises_and_keeps_value(self):
        blk = wigenai.hwi_channel_cc(10.0, 0.1, 0.2, 4, 5, "awgn")
        bad = [
            ("snr_db", blk.set_snr_db, float("nan")),
            ("kappa_t", blk.set_kappa_t, -0.5),
            ("kappa_r", blk.set_kappa_r, float("inf")),
            ("quant_bits", blk.set_quant_bits, 17),
            ("adc_bits", blk.set_adc_bits, -3),
            ("noise", blk.set_noise, "pink"),
        ]
        for name, setter, value in bad:
            with self.assertRaises(ValueError) as ctx:
                setter(value)
            self.assertIn(name, str(ctx.exception))
        self.assertEqual(blk.snr_db(), 10.0)
        self.assertEqual(blk.kappa_t(), 0.1)
        self.assertEqual(blk.kappa_r(), 0.2)
        self.assertEqual(blk.quant_bits(), 4)
        self.assertEqual(blk.adc_bits(), 5)
        self.assertEqual(blk.noise(), "awgn")
        blk.set_noise("LAPLACE")
        self.assertEqual(blk.noise(), "laplace")

    # ----- robustness ----------------------------------------------------------------

    def test_040_nonfinite_inputs_are_zeroed_counted_and_logged_once(self):
        x = jittered(30000).astype(np.complex128)
        bad = np.arange(5, x.size, 997)
        x[bad[0::3]] = np.nan
        x[bad[1::3]] = complex(0.3, np.inf)
        x[bad[2::3]] = complex(-np.inf, np.nan)
        blk = wigenai.hwi_channel_cc(300.0, quant_bits=3, seed=6)
        self.assertEqual(blk.nonfinite_count(), 0)

        # Capture the process's stdout and stderr, where GNU Radio's console logger
        # writes (the sink depends on the GNU Radio configuration).
        with tempfile.TemporaryFile() as log:
            sys.stdout.flush()
            sys.stderr.flush()
            saved = [os.dup(1), os.dup(2)]
            os.dup2(log.fileno(), 1)
            os.dup2(log.fileno(), 2)
            try:
                y = self.run_block(blk, x)
            finally:
                os.dup2(saved[0], 1)
                os.dup2(saved[1], 2)
                for fd in saved:
                    os.close(fd)
            log.seek(0)
            text = log.read().decode(errors="replace")

        self.assertTrue(np.all(np.isfinite(y)))
        self.assertEqual(blk.nonfinite_count(), bad.size)
        clean = np.where(np.isfinite(x), x, 0)
        np.testing.assert_allclose(y, channel.quantize(clean, 3, 1.0), atol=1e-6)
        self.assertEqual(text.count("non-finite"), 1, text)
        self.assertIn("hwi_channel_cc", text)

    def test_041_seed_reproducibility(self):
        x = unit_power_qam(20000)
        kw = dict(snr_db=5.0, kappa_t=0.1, quant_bits=4, adc_bits=6, noise="laplace")
        y1 = self.run_block(wigenai.hwi_channel_cc(**kw, seed=42), x)
        y2 = self.run_block(wigenai.hwi_channel_cc(**kw, seed=42), x)
        y3 = self.run_block(wigenai.hwi_channel_cc(**kw, seed=43), x)
        np.testing.assert_array_equal(y1, y2)
        self.assertLess(np.mean(y1 == y3), 0.5)


if __name__ == "__main__":
    gr_unittest.run(qa_hwi_channel_cc)
