/* -*- c++ -*- */
/*
 * Copyright 2025 The WiGenAI authors.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#ifndef INCLUDED_WIGENAI_DDPM_SHAPER_C_IMPL_H
#define INCLUDED_WIGENAI_DDPM_SHAPER_C_IMPL_H

#include "ddpm_model.h"
#include <gnuradio/wigenai/ddpm_shaper_c.h>
#include <random>

namespace gr {
namespace wigenai {

class ddpm_shaper_c_impl : public ddpm_shaper_c
{
public:
    ddpm_shaper_c_impl(int order,
                       const std::string& model_file,
                       double snr_db,
                       const std::string& sampler,
                       int steps,
                       int batch_size,
                       int threads,
                       const std::string& provider,
                       uint64_t seed,
                       int warmup_symbols);

    void set_snr_db(double snr_db) override;
    double snr_db() const override { return d_snr_db; }
    std::vector<double> pmf() const override { return d_pmf; }
    std::vector<gr_complex> points() const override;
    int start_step() const override { return d_start_step; }
    int calls_per_symbol() const override;
    std::string model_file() const override { return d_model_file; }

    int work(int noutput_items,
             gr_vector_const_void_star& input_items,
             gr_vector_void_star& output_items) override;

private:
    //! Generate n symbols by the paper's procedure; returns their point indices.
    void generate(size_t n, std::vector<int>& index);

    std::string d_model_file;
    detail::onnx_epsilon d_net;
    detail::schedule d_schedule;
    std::string d_sampler;
    int d_steps;
    int d_warmup;
    double d_snr_db = 0.0;
    int d_start_step = 0;
    bool d_warned = false;
    bool d_failed = false;
    std::vector<double> d_pmf;
    double d_scale = 1.0;

    std::mt19937_64 d_rng;
    std::normal_distribution<double> d_normal;
    std::vector<double> d_state;
    std::vector<int> d_index;
};

} // namespace wigenai
} // namespace gr

#endif /* INCLUDED_WIGENAI_DDPM_SHAPER_C_IMPL_H */
