/* -*- c++ -*- */
/*
 * Copyright 2025 The WiGenAI authors.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#ifndef INCLUDED_WIGENAI_DDPM_DENOISER_CC_IMPL_H
#define INCLUDED_WIGENAI_DDPM_DENOISER_CC_IMPL_H

#include "ddpm_model.h"
#include <gnuradio/wigenai/ddpm_denoiser_cc.h>
#include <random>

namespace gr {
namespace wigenai {

class ddpm_denoiser_cc_impl : public ddpm_denoiser_cc
{
public:
    ddpm_denoiser_cc_impl(const std::string& modulation,
                          const std::string& model_file,
                          double snr_db,
                          const std::string& sampler,
                          int steps,
                          int runs,
                          const std::string& combine,
                          int batch_size,
                          int threads,
                          bool decisions,
                          const std::string& provider,
                          uint64_t seed,
                          const std::string& link);

    void set_snr_db(double snr_db) override;
    double snr_db() const override { return d_snr_db; }
    double esn0_db() const override { return d_esn0_db; }
    void set_sampler(const std::string& sampler) override;
    std::string sampler() const override { return d_sampler; }
    void set_steps(int steps) override;
    int steps() const override { return d_steps; }
    void set_runs(int runs) override;
    int runs() const override { return d_runs; }
    void set_combine(const std::string& combine) override;
    std::string combine() const override { return d_combine; }

    int start_step() const override { return d_start_step; }
    int calls_per_symbol() const override;
    std::string model_file() const override { return d_model_file; }
    std::string provider() const override { return d_provider; }
    uint64_t nonfinite_count() const override { return d_nonfinite; }
    uint64_t nonfinite_output_count() const override { return d_nonfinite_out; }

    int work(int noutput_items,
             gr_vector_const_void_star& input_items,
             gr_vector_void_star& output_items) override;

private:
    void run_chain(size_t n, double* x0);
    void denoise(const gr_complex* in, gr_complex* out, uint8_t* decided, size_t n);
    bool follow_tag(const pmt::pmt_t& value);
    uint8_t nearest(double re, double im) const;

    std::string d_model_file;
    std::string d_provider;
    detail::onnx_epsilon d_net;
    detail::schedule d_schedule;
    std::vector<std::complex<double>> d_decision_points;
    std::vector<uint8_t> d_decision_labels;
    detail::decision_cloud d_cloud;
    size_t d_order;
    bool d_conditional;
    bool d_decisions;

    double d_snr_db;
    std::string d_sampler;
    int d_steps;
    int d_runs;
    std::string d_combine;
    int d_start_step;
    double d_esn0_db; // NaN in the configured-SNR mode
    const pmt::pmt_t d_esn0_key;
    std::vector<gr::tag_t> d_tags;

    std::mt19937_64 d_rng;
    std::normal_distribution<double> d_normal;
    std::vector<double> d_start; // (n, 2) start state, also the conditioning sample
    std::vector<double> d_state; // (n, 2)
    std::vector<double> d_x0;    // (runs, n, 2)

    uint64_t d_nonfinite = 0;
    uint64_t d_nonfinite_out = 0;
    bool d_failed = false;
    bool d_bad_tag_logged = false;
};

} // namespace wigenai
} // namespace gr

#endif /* INCLUDED_WIGENAI_DDPM_DENOISER_CC_IMPL_H */
