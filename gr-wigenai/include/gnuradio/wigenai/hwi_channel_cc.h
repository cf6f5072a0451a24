/* -*- c++ -*- */
/*
 * Copyright 2025 The WiGenAI authors.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#ifndef INCLUDED_WIGENAI_HWI_CHANNEL_CC_H
#define INCLUDED_WIGENAI_HWI_CHANNEL_CC_H

#include <cstdint>
#include <gnuradio/sync_block.h>
#include <gnuradio/wigenai/api.h>
#include <string>

namespace gr {
namespace wigenai {

/*!
 * \brief Impaired link: transmit DAC, hardware distortion, AWGN or Laplacian noise and
 * receive ADC, the same model as the Python library's wigenai.channel.
 * \ingroup wigenai
 *
 * \details
 * The input is assumed to have unit average power (P = 1 per complex sample); all
 * impairment powers are relative to it. For each input sample x:
 *
 * \code
 *   x_q = Q_dac(x)                   quant_bits per I and Q, full scale dac_full_scale
 *   u   = x_q + eta_t + eta_r + n    eta_t ~ CN(0, kappa_t^2), eta_r ~ CN(0, kappa_r^2)
 *   y   = Q_adc(u)                   adc_bits per I and Q, full scale A (below)
 * \endcode
 *
 * The noise n has variance N0 = 10^(-snr_db/10) per complex sample: circular Gaussian
 * ("awgn"), or independent Laplacian on I and Q ("laplace"), each of variance N0/2
 * (scale b = sqrt(N0/4)). The channel gain is h = 1: Rayleigh fading exists only in
 * the Python library, not in this block.
 *
 * Both quantizers are uniform mid-rise on each real dimension, with 2^bits levels over
 * [-A, A]: step = 2A/2^bits, q(r) = clamp(step*(floor(r/step) + 0.5), -(A - step/2),
 * A - step/2). bits = 0 switches a quantizer off. The ADC has an ideal automatic gain:
 * A = adc_loading * sqrt((1 + kappa_t^2 + kappa_r^2 + N0) / 2), the expected rms of one
 * real dimension of u times adc_loading; its output stays in the units of the input.
 *
 * The three Gaussian terms (eta_t, eta_r and, with "awgn", n) are drawn as one circular
 * Gaussian of the summed variance, which has exactly the same law.
 *
 * Non-finite input samples (NaN or infinite I or Q) are replaced by 0 before any
 * processing, so the output stays finite. They are counted (see nonfinite_count()) and
 * the first occurrence is logged once as a warning.
 *
 * Random numbers come from Mersenne Twisters seeded with \p seed: every seed, 0
 * included, gives a reproducible output that does not depend on how the scheduler
 * splits the stream into work() calls. Give independent blocks different seeds.
 *
 * Invalid parameters, at construction or in a setter, throw std::invalid_argument
 * (ValueError in Python) whose message names the parameter.
 */
class WIGENAI_API hwi_channel_cc : virtual public gr::sync_block
{
public:
    typedef std::shared_ptr<hwi_channel_cc> sptr;

    /*!
     * \brief Make an impaired link block.
     *
     * \param snr_db Es/N0 in dB per complex sample (Es = 1); finite.
     * \param kappa_t Transmitter distortion level, eta_t ~ CN(0, kappa_t^2); >= 0.
     * \param kappa_r Receiver distortion level, eta_r ~ CN(0, kappa_r^2); >= 0.
     * \param quant_bits DAC resolution per I and Q, 0..16 (0 = no DAC quantizer).
     * \param adc_bits ADC resolution per I and Q, 0..16 (0 = no ADC quantizer).
     * \param noise Noise law, "awgn" or "laplace" (case-insensitive).
     * \param dac_full_scale DAC full scale per real dimension; > 0.
     * \param adc_loading ADC full scale over the expected rms per dimension; > 0.
     * \param seed Seed of the random generators (any value, 0 included).
     */
    static sptr make(double snr_db,
                     double kappa_t = 0.0,
                     double kappa_r = 0.0,
                     int quant_bits = 0,
                     int adc_bits = 0,
                     const std::string& noise = "awgn",
                     double dac_full_scale = 1.0,
                     double adc_loading = 3.0,
                     uint64_t seed = 0);

    //! \brief Set Es/N0 in dB (finite); the ADC full scale follows.
    virtual void set_snr_db(double snr_db) = 0;
    //! \brief Es/N0 in dB.
    virtual double snr_db() const = 0;

    //! \brief Set the transmitter distortion level (finite, >= 0).
    virtual void set_kappa_t(double kappa_t) = 0;
    //! \brief Transmitter distortion level.
    virtual double kappa_t() const = 0;

    //! \brief Set the receiver distortion level (finite, >= 0).
    virtual void set_kappa_r(double kappa_r) = 0;
    //! \brief Receiver distortion level.
    virtual double kappa_r() const = 0;

    //! \brief Set the DAC resolution in bits, 0..16 (0 = off).
    virtual void set_quant_bits(int quant_bits) = 0;
    //! \brief DAC resolution in bits (0 = off).
    virtual int quant_bits() const = 0;

    //! \brief Set the ADC resolution in bits, 0..16 (0 = off).
    virtual void set_adc_bits(int adc_bits) = 0;
    //! \brief ADC resolution in bits (0 = off).
    virtual int adc_bits() const = 0;

    //! \brief Set the noise law, "awgn" or "laplace" (case-insensitive).
    virtual void set_noise(const std::string& noise) = 0;
    //! \brief Noise law, "awgn" or "laplace".
    virtual std::string noise() const = 0;

    //! \brief DAC full scale per real dimension.
    virtual double dac_full_scale() const = 0;
    //! \brief ADC loading factor (full scale over expected rms per dimension).
    virtual double adc_loading() const = 0;
    //! \brief Noise power per complex sample, N0 = 10^(-snr_db/10).
    virtual double n0() const = 0;
    //! \brief Current ADC full scale A per real dimension (automatic gain).
    virtual double adc_full_scale() const = 0;
    //! \brief Seed the block was made with.
    virtual uint64_t seed() const = 0;

    //! \brief Number of non-finite input samples seen (and replaced by 0) so far.
    virtual uint64_t nonfinite_count() const = 0;
};

} // namespace wigenai
} // namespace gr

#endif /* INCLUDED_WIGENAI_HWI_CHANNEL_CC_H */
