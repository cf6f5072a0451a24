/*
 * Copyright 2025 The WiGenAI authors.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

// pybind11 bindings of gr::wigenai::hwi_channel_cc. std::invalid_argument thrown by the
// block (invalid parameters) reaches Python as ValueError.

#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <gnuradio/wigenai/hwi_channel_cc.h>

namespace py = pybind11;

namespace {

const char* const class_doc =
    R"doc(Impaired link: transmit DAC, hardware distortion, AWGN or Laplacian noise and
receive ADC, the model of the Python library's wigenai.channel.

Complex in, complex out, one output per input. The input is assumed to have unit average
power (P = 1). Per sample x:

    x_q = Q_dac(x)                   quant_bits per I and Q, full scale dac_full_scale
    u   = x_q + eta_t + eta_r + n    eta_t ~ CN(0, kappa_t^2), eta_r ~ CN(0, kappa_r^2)
    y   = Q_adc(u)                   adc_bits per I and Q, automatic gain

n has variance N0 = 10**(-snr_db/10): circular Gaussian ("awgn") or independent Laplace
on I and Q ("laplace"), each of variance N0/2. No fading (h = 1); fading exists only in
the Python library. Quantizers are uniform mid-rise with 2**bits levels over [-A, A]
(0 bits = off); the ADC full scale is A = adc_loading * sqrt((1 + kappa_t^2 + kappa_r^2 +
N0) / 2). Non-finite input samples are replaced by 0, counted (nonfinite_count()) and
logged once. Invalid parameters raise ValueError naming the parameter.)doc";

const char* const make_doc =
    R"doc(Make an impaired link block.

Args:
    snr_db: Es/N0 in dB per complex sample (Es = 1); finite.
    kappa_t: transmitter distortion level (>= 0).
    kappa_r: receiver distortion level (>= 0).
    quant_bits: DAC resolution per I and Q, 0..16 (0 = no DAC quantizer).
    adc_bits: ADC resolution per I and Q, 0..16 (0 = no ADC quantizer).
    noise: noise law, "awgn" or "laplace".
    dac_full_scale: DAC full scale per real dimension (> 0).
    adc_loading: ADC full scale over the expected rms per dimension (> 0).
    seed: seed of the random generators; every seed, 0 included, is reproducible.)doc";

} // namespace

void bind_hwi_channel_cc(py::module& m)
{
    using block = gr::wigenai::hwi_channel_cc;

    py::class_<block, gr::sync_block, gr::block, gr::basic_block, std::shared_ptr<block>>(
        m, "hwi_channel_cc", class_doc)
        .def(py::init(&block::make),
             py::arg("snr_db"),
             py::arg("kappa_t") = 0.0,
             py::arg("kappa_r") = 0.0,
             py::arg("quant_bits") = 0,
             py::arg("adc_bits") = 0,
             py::arg("noise") = "awgn",
             py::arg("dac_full_scale") = 1.0,
             py::arg("adc_loading") = 3.0,
             py::arg("seed") = 0,
             make_doc)
        .def("set_snr_db",
             &block::set_snr_db,
             py::arg("snr_db"),
             "Set Es/N0 in dB (finite); the ADC full scale follows.")
        .def("snr_db", &block::snr_db, "Es/N0 in dB.")
        .def("set_kappa_t",
             &block::set_kappa_t,
             py::arg("kappa_t"),
             "Set the transmitter distortion level (finite, >= 0).")
        .def("kappa_t", &block::kappa_t, "Transmitter distortion level.")
        .def("set_kappa_r",
             &block::set_kappa_r,
             py::arg("kappa_r"),
             "Set the receiver distortion level (finite, >= 0).")
        .def("kappa_r", &block::kappa_r, "Receiver distortion level.")
        .def("set_quant_bits",
             &block::set_quant_bits,
             py::arg("quant_bits"),
             "Set the DAC resolution in bits, 0..16 (0 = off).")
        .def("quant_bits", &block::quant_bits, "DAC resolution in bits (0 = off).")
        .def("set_adc_bits",
             &block::set_adc_bits,
             py::arg("adc_bits"),
             "Set the ADC resolution in bits, 0..16 (0 = off).")
        .def("adc_bits", &block::adc_bits, "ADC resolution in bits (0 = off).")
        .def("set_noise",
             &block::set_noise,
             py::arg("noise"),
             "Set the noise law, \"awgn\" or \"laplace\" (case-insensitive).")
        .def("noise", &block::noise, "Noise law, \"awgn\" or \"laplace\".")
        .def("dac_full_scale",
             &block::dac_full_scale,
             "DAC full scale per real dimension.")
        .def("adc_loading",
             &block::adc_loading,
             "ADC loading factor (full scale over expected rms per dimension).")
        .def("n0", &block::n0, "Noise power per complex sample, N0 = 10**(-snr_db/10).")
        .def("adc_full_scale",
             &block::adc_full_scale,
             "Current ADC full scale A per real dimension (automatic gain).")
        .def("seed", &block::seed, "Seed the block was made with.")
        .def("nonfinite_count",
             &block::nonfinite_count,
             "Number of non-finite input samples seen (and replaced by 0) so far.");
}
