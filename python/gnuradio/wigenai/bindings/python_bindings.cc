/*
 * Copyright 2025 The WiGenAI authors.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

// Entry point of the wigenai_python extension module (hand-written pybind11 bindings;
// gr_modtool bind is not used).

#include <pybind11/pybind11.h>

namespace py = pybind11;

void bind_hwi_channel_cc(py::module& m);
#ifdef WIGENAI_HAVE_ORT
void bind_ddpm_denoiser_cc(py::module& m);
void bind_ddpm_shaper_c(py::module& m);
#endif

PYBIND11_MODULE(wigenai_python, m)
{
    m.doc() = "C++ blocks of gr-wigenai (use them through gnuradio.wigenai)";

    // The GNU Radio base classes (gr::sync_block, ...) are registered by
    // gnuradio.gr; import it before binding classes derived from them.
    py::module::import("gnuradio.gr");

    bind_hwi_channel_cc(m);
#ifdef WIGENAI_HAVE_ORT
    bind_ddpm_denoiser_cc(m);
    bind_ddpm_shaper_c(m);
#endif
}
