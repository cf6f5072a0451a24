/* -*- c++ -*- */
/*
 * Copyright 2025 The WiGenAI authors.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "hwi_channel_cc_impl.h"
#include <algorithm>
#include <cctype>
#include <cmath>
#include <gnuradio/io_signature.h>
#include <sstream>
#include <stdexcept>

namespace gr {
namespace wigenai {

namespace {

constexpr int max_bits = 16;

template <typename T>
std::string to_text(const T& value)
{
    std::ostringstream out;
    out.precision(10);
    out << value;
    return out.str();
}

[[noreturn]] void
reject(const std::string& name, const std::string& rule, const std::string& got)
{
    throw std::invalid_argument("hwi_channel_cc: " + name + " must be " + rule +
                                ", got " + got);
}

double check_nonnegative(double value, const char* name)
{
    if (!std::isfinite(value) || value < 0.0) {
        reject(name, "finite and >= 0", to_text(value));
    }
    return value;
}

double check_positive(double value, const char* name)
{
    if (!std::isfinite(value) || value <= 0.0) {
        reject(name, "finite and > 0", to_text(value));
    }
    return value;
}

int check_bits(int bits, const char* name)
{
    if (bits < 0 || bits > max_bits) {
        reject(name, "an integer in 0..16 (0 = off)", to_text(bits));
    }
    return bits;
}

// The uniform mid-rise quantizer of one real dimension (see the public header).
inline double quantize(double r, double step, double top)
{
    const double level = step * (std::floor(r / step) + 0.5);
    return std::min(std::max(level, -top), top);
}

} // namespace

hwi_link_params validate_link_params(hwi_link_params p)
{
    if (!std::isfinite(p.snr_db)) {
        reject("snr_db", "finite", to_text(p.snr_db));
    }
    check_nonnegative(p.kappa_t, "kappa_t");
    check_nonnegative(p.kappa_r, "kappa_r");
    check_bits(p.quant_bits, "quant_bits");
    check_bits(p.adc_bits, "adc_bits");
    std::string law = p.noise;
    std::transform(law.begin(), law.end(), law.begin(), [](unsigned char c) {
        return static_cast<char>(std::tolower(c));
    });
    if (law != "awgn" && law != "laplace") {
        reject("noise", "\"awgn\" or \"laplace\"", "\"" + p.noise + "\"");
    }
    p.noise = law;
    check_positive(p.dac_full_scale, "dac_full_scale");
    check_positive(p.adc_loading, "adc_loading");
    return p;
}

hwi_link_derived derive_link(const hwi_link_params& p)
{
    hwi_link_derived d;
    d.n0 = std::pow(10.0, -p.snr_db / 10.0);
    const double distortion = p.kappa_t * p.kappa_t + p.kappa_r * p.kappa_r;
    d.laplace = p.noise == "laplace";
    // Per complex sample: eta_t + eta_r (+ n with AWGN) is CN(0, sum of variances).
    const double gauss_var = distortion + (d.laplace ? 0.0 : d.n0);
    d.gauss_sd = std::sqrt(gauss_var / 2.0);
    d.laplace_b = std::sqrt(d.n0 / 4.0); // variance 2 b^2 = N0 / 2 per dimension

    d.dac_step = 0.0;
    d.dac_top = 0.0;
    if (p.quant_bits > 0) {
        d.dac_step = 2.0 * p.dac_full_scale / static_cast<double>(1 << p.quant_bits);
        d.dac_top = p.dac_full_scale - d.dac_step / 2.0;
    }
    const double power = 1.0 + distortion + d.n0;
    d.adc_full_scale = p.adc_loading * std::sqrt(power / 2.0);
    d.adc_step = 0.0;
    d.adc_top = 0.0;
    if (p.adc_bits > 0) {
        d.adc_step = 2.0 * d.adc_full_scale / static_cast<double>(1 << p.adc_bits);
        d.adc_top = d.adc_full_scale - d.adc_step / 2.0;
    }
    // Finite parameters can still overflow (snr_db below about -3080 dB, absurd kappas).
    if (!std::isfinite(d.n0) || !std::isfinite(d.adc_full_scale)) {
        throw std::invalid_argument(
            "hwi_channel_cc: snr_db, kappa_t and kappa_r give a non-finite noise or ADC "
            "power (snr_db=" +
            to_text(p.snr_db) + ", kappa_t=" + to_text(p.kappa_t) +
            ", kappa_r=" + to_text(p.kappa_r) + ")");
    }
    return d;
}

hwi_channel_cc::sptr hwi_channel_cc::make(double snr_db,
                                          double kappa_t,
                                          double kappa_r,
                                          int quant_bits,
                                          int adc_bits,
                                          const std::string& noise,
                                          double dac_full_scale,
                                          double adc_loading,
                                          uint64_t seed)
{
    return gnuradio::make_block_sptr<hwi_channel_cc_impl>(snr_db,
                                                          kappa_t,
                                                          kappa_r,
                                                          quant_bits,
                                                          adc_bits,
                                                          noise,
                                                          dac_full_scale,
                                                          adc_loading,
                                                          seed);
}

hwi_channel_cc_impl::hwi_channel_cc_impl(double snr_db,
                                         double kappa_t,
                                         double kappa_r,
                                         int quant_bits,
                                         int adc_bits,
                                         const std::string& noise,
                                         double dac_full_scale,
                                         double adc_loading,
                                         uint64_t seed)
    : gr::sync_block("hwi_channel_cc",
                     gr::io_signature::make(1, 1, sizeof(gr_complex)),
                     gr::io_signature::make(1, 1, sizeof(gr_complex)))
    , d_params(validate_link_params({ snr_db,
                                      kappa_t,
                                      kappa_r,
                                      quant_bits,
                                      adc_bits,
                                      noise,
                                      dac_full_scale,
                                      adc_loading }))
    , d_derived(derive_link(d_params))
    , d_seed(seed)
    , d_nonfinite(0)
    , d_warned(false)
{
    // Two independent streams, one per noise kind, so that the output does not depend
    // on how the stream is cut into work() calls.
    const auto lo = static_cast<uint32_t>(seed & 0xffffffffu);
    const auto hi = static_cast<uint32_t>(seed >> 32);
    std::seed_seq gauss_seq{ lo, hi, 0x67617573u };
    std::seed_seq laplace_seq{ lo, hi, 0x6c61706cu };
    d_gauss_rng.seed(gauss_seq);
    d_laplace_rng.seed(laplace_seq);
}

hwi_channel_cc_impl::~hwi_channel_cc_impl() {}

void hwi_channel_cc_impl::update(const hwi_link_params& p)
{
    const hwi_link_params valid = validate_link_params(p);
    d_derived = derive_link(valid);
    d_params = valid;
}

#define WIGENAI_SETTER(NAME, TYPE)                   \
    void hwi_channel_cc_impl::set_##NAME(TYPE value) \
    {                                                \
        gr::thread::scoped_lock lock(d_setlock);     \
        hwi_link_params p = d_params;                \
        p.NAME = value;                              \
        update(p);                                   \
    }

WIGENAI_SETTER(snr_db, double)
WIGENAI_SETTER(kappa_t, double)
WIGENAI_SETTER(kappa_r, double)
WIGENAI_SETTER(quant_bits, int)
WIGENAI_SETTER(adc_bits, int)
WIGENAI_SETTER(noise, const std::string&)
#undef WIGENAI_SETTER

#define WIGENAI_GETTER(NAME, TYPE, FIELD)        \
    TYPE hwi_channel_cc_impl::NAME() const       \
    {                                            \
        gr::thread::scoped_lock lock(setlock()); \
        return FIELD;                            \
    }

WIGENAI_GETTER(snr_db, double, d_params.snr_db)
WIGENAI_GETTER(kappa_t, double, d_params.kappa_t)
WIGENAI_GETTER(kappa_r, double, d_params.kappa_r)
WIGENAI_GETTER(quant_bits, int, d_params.quant_bits)
WIGENAI_GETTER(adc_bits, int, d_params.adc_bits)
WIGENAI_GETTER(noise, std::string, d_params.noise)
WIGENAI_GETTER(dac_full_scale, double, d_params.dac_full_scale)
WIGENAI_GETTER(adc_loading, double, d_params.adc_loading)
WIGENAI_GETTER(n0, double, d_derived.n0)
WIGENAI_GETTER(adc_full_scale, double, d_derived.adc_full_scale)
#undef WIGENAI_GETTER

double hwi_channel_cc_impl::unit_laplace()
{
    // A random sign times an Exp(1) variate, from one 64-bit draw: the top bit is the
    // sign, the low 52 bits give u in (0, 1) exactly representable, -log(u) ~ Exp(1).
    const uint64_t bits = d_laplace_rng();
    const double u =
        (static_cast<double>(bits & ((uint64_t(1) << 52) - 1)) + 0.5) * 0x1p-52;
    const double magnitude = -std::log(u);
    return (bits >> 63) ? -magnitude : magnitude;
}

int hwi_channel_cc_impl::work(int noutput_items,
                              gr_vector_const_void_star& input_items,
                              gr_vector_void_star& output_items)
{
    const auto* in = static_cast<const gr_complex*>(input_items[0]);
    auto* out = static_cast<gr_complex*>(output_items[0]);
    const size_t n = static_cast<size_t>(noutput_items);

    gr::thread::scoped_lock lock(d_setlock);
    const hwi_link_derived d = d_derived;
    if (d_re.size() < n) {
        d_re.resize(n);
        d_im.resize(n);
    }
    double* re = d_re.data();
    double* im = d_im.data();

    // 1. Replace non-finite samples by 0 and count them.
    uint64_t bad = 0;
    size_t first_bad = 0;
    for (size_t i = 0; i < n; i++) {
        const double r = in[i].real();
        const double q = in[i].imag();
        const bool finite = std::isfinite(r) && std::isfinite(q);
        if (!finite && bad++ == 0) {
            first_bad = i;
        }
        re[i] = finite ? r : 0.0;
        im[i] = finite ? q : 0.0;
    }
    if (bad > 0) {
        d_nonfinite += bad;
        if (!d_warned) {
            d_warned = true;
            d_logger->warn("non-finite input sample(s) replaced by 0, the first at input "
                           "item {}; further ones are only counted (nonfinite_count())",
                           nitems_read(0) + first_bad);
        }
    }

    // 2. Transmit DAC.
    if (d.dac_step > 0.0) {
        for (size_t i = 0; i < n; i++) {
            re[i] = quantize(re[i], d.dac_step, d.dac_top);
            im[i] = quantize(im[i], d.dac_step, d.dac_top);
        }
    }

    // 3. Gaussian distortion (and AWGN), then Laplacian noise, each from its stream.
    if (d.gauss_sd > 0.0) {
        for (size_t i = 0; i < n; i++) {
            re[i] += d.gauss_sd * d_normal(d_gauss_rng);
            im[i] += d.gauss_sd * d_normal(d_gauss_rng);
        }
    }
    if (d.laplace && d.laplace_b > 0.0) {
        for (size_t i = 0; i < n; i++) {
            re[i] += d.laplace_b * unit_laplace();
            im[i] += d.laplace_b * unit_laplace();
        }
    }

    // 4. Receive ADC.
    if (d.adc_step > 0.0) {
        for (size_t i = 0; i < n; i++) {
            out[i] =
                gr_complex(static_cast<float>(quantize(re[i], d.adc_step, d.adc_top)),
                           static_cast<float>(quantize(im[i], d.adc_step, d.adc_top)));
        }
    } else {
        for (size_t i = 0; i < n; i++) {
            out[i] = gr_complex(static_cast<float>(re[i]), static_cast<float>(im[i]));
        }
    }
    return noutput_items;
}

} /* namespace wigenai */
} /* namespace gr */
