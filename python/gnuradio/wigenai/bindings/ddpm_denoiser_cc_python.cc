/*
 * Copyright 2025 The WiGenAI authors.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

// pybind11 bindings of gr::wigenai::ddpm_denoiser_cc. std::invalid_argument thrown by
// the block (invalid parameters, a bad model file) reaches Python as ValueError.

#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <gnuradio/wigenai/ddpm_denoiser_cc.h>

namespace py = pybind11;

namespace {

const char* const class_doc =
    R"doc(DDPM receiver (case study 1) on ONNX Runtime's C++ API: the C++ twin of the
Python block ddpm_denoiser, with the same models, contract checks and results.

Complex in (symbols at unit power after synchronization), complex out (the estimate
of the transmitted symbols); with decisions=True a second, byte output carries the
index of the nearest transmitted point (its Gray label). The reverse chain starts at
the diffusion step matched to the link's effective SNR: DDIM with `steps` network
calls, or ancestral sampling with `runs` runs combined by `combine`. An `esn0_db`
stream tag (burst_sync's measured Es/N0) moves the start step to the one matched to
that measurement from the tagged item on; set_snr_db() returns to the link SNR.
Batches of `batch_size` rows through one session; a shorter tail is padded to the
next power of two. Invalid parameters or a mismatched model raise ValueError
naming the parameter or the file and contract field; an inference failure is logged
and ends the flowgraph.)doc";

} // namespace

void bind_ddpm_denoiser_cc(py::module& m)
{
    using block = gr::wigenai::ddpm_denoiser_cc;

    py::class_<block, gr::sync_block, gr::block, gr::basic_block, std::shared_ptr<block>>(
        m, "ddpm_denoiser_cc", class_doc)
        .def(py::init(&block::make),
             py::arg("modulation") = "qpsk",
             py::arg("model_file") = "",
             py::arg("snr_db") = -5.0,
             py::arg("sampler") = "ddim",
             py::arg("steps") = 2,
             py::arg("runs") = 1,
             py::arg("combine") = "mean",
             py::arg("batch_size") = 8192,
             py::arg("threads") = 2,
             py::arg("decisions") = false,
             py::arg("provider") = "cpu",
             py::arg("seed") = 0,
             py::arg("link") = "",
             "Make a DDPM denoiser block (see the class documentation).")
        .def("set_snr_db", &block::set_snr_db, py::arg("snr_db"))
        .def("snr_db", &block::snr_db)
        .def("esn0_db", &block::esn0_db)
        .def("set_sampler", &block::set_sampler, py::arg("sampler"))
        .def("sampler", &block::sampler)
        .def("set_steps", &block::set_steps, py::arg("steps"))
        .def("steps", &block::steps)
        .def("set_runs", &block::set_runs, py::arg("runs"))
        .def("runs", &block::runs)
        .def("set_combine", &block::set_combine, py::arg("combine"))
        .def("combine", &block::combine)
        .def("start_step", &block::start_step)
        .def("calls_per_symbol", &block::calls_per_symbol)
        .def("model_file", &block::model_file)
        .def("provider", &block::provider)
        .def("nonfinite_count", &block::nonfinite_count)
        .def("nonfinite_output_count", &block::nonfinite_output_count)
        .def_static("cuda_available", &block::cuda_available);
}
