/* -*- c++ -*- */
/*
 * Copyright 2025 The WiGenAI authors.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#ifndef INCLUDED_WIGENAI_API_H
#define INCLUDED_WIGENAI_API_H

#include <gnuradio/attributes.h>

// Symbols of libgnuradio-wigenai: exported when the library itself is compiled
// (gnuradio_wigenai_EXPORTS is set by CMake), imported by its users.
#ifdef gnuradio_wigenai_EXPORTS
#define WIGENAI_API __GR_ATTR_EXPORT
#else
#define WIGENAI_API __GR_ATTR_IMPORT
#endif

#endif /* INCLUDED_WIGENAI_API_H */
