/* -*- c++ -*- */
/*
 * Copyright 2025 The WiGenAI authors.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#ifndef INCLUDED_WIGENAI_HWI_CHANNEL_CC_IMPL_H
#define INCLUDED_WIGENAI_HWI_CHANNEL_CC_IMPL_H

#include <atomic>
#include <gnuradio/wigenai/hwi_channel_cc.h>
#include <random>
#include <vector>

namespace gr {
namespace wigenai {

//! The user-visible parameters of the link, always valid once constructed.
struct hwi_link_params {
    double snr_db;
    double kappa_t;
    double kappa_r;
    int quant_bits;
    int adc_bits;
    std::string noise;
    double dac_full_scale;
    double adc_loading;
};

//! Quantities work() needs, derived from hwi_link_params.
struct hwi_link_derived {
    double n0;
    double gauss_sd;  // std of each real dimension of the summed Gaussian terms
    bool laplace;     // Laplacian noise drawn separately
    double laplace_b; // its scale per real dimension
    double dac_step;  // 0 when the DAC quantizer is off
    double dac_top;   // outermost DAC level
    double adc_full_scale;
    double adc_step; // 0 when the ADC quantizer is off
    double adc_top;  // outermost ADC level
};

//! Throws std::invalid_argument naming the first invalid parameter; returns p with
//! the noise name in lower case.
hwi_link_params validate_link_params(hwi_link_params p);
//! The derived quantities of valid parameters.
hwi_link_derived derive_link(const hwi_link_params& p);

class hwi_channel_cc_impl : public hwi_channel_cc
{
private:
    hwi_link_params d_params;
    hwi_link_derived d_derived;
    const uint64_t d_seed;
    std::mt19937_64 d_gauss_rng;
    std::mt19937_64 d_laplace_rng;
    std::normal_distribution<double> d_normal;
    std::vector<double> d_re;
    std::vector<double> d_im;
    std::atomic<uint64_t> d_nonfinite;
    bool d_warned;

    //! d_setlock, also from const getters (the block itself is never const).
    gr::thread::mutex& setlock() const
    {
        return const_cast<gr::thread::mutex&>(d_setlock);
    }
    //! Validates the changed parameters and installs them, under d_setlock.
    void update(const hwi_link_params& p);
    //! One Laplace(0, 1) variate from d_laplace_rng.
    double unit_laplace();

public:
    hwi_channel_cc_impl(double snr_db,
                        double kappa_t,
                        double kappa_r,
                        int quant_bits,
                        int adc_bits,
                        const std::string& noise,
                        double dac_full_scale,
                        double adc_loading,
                        uint64_t seed);
    ~hwi_channel_cc_impl() override;

    void set_snr_db(double snr_db) override;
    double snr_db() const override;
    void set_kappa_t(double kappa_t) override;
    double kappa_t() const override;
    void set_kappa_r(double kappa_r) override;
    double kappa_r() const override;
    void set_quant_bits(int quant_bits) override;
    int quant_bits() const override;
    void set_adc_bits(int adc_bits) override;
    int adc_bits() const override;
    void set_noise(const std::string& noise) override;
    std::string noise() const override;
    double dac_full_scale() const override;
    double adc_loading() const override;
    double n0() const override;
    double adc_full_scale() const override;
    uint64_t seed() const override { return d_seed; }
    uint64_t nonfinite_count() const override { return d_nonfinite.load(); }

    int work(int noutput_items,
             gr_vector_const_void_star& input_items,
             gr_vector_void_star& output_items) override;
};

} // namespace wigenai
} // namespace gr

#endif /* INCLUDED_WIGENAI_HWI_CHANNEL_CC_IMPL_H */
