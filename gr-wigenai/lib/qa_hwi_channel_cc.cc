/* -*- c++ -*- */
/*
 * Copyright 2025 The WiGenAI authors.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <complex>
#include <functional>
#include <gnuradio/blocks/vector_sink.h>
#include <gnuradio/blocks/vector_source.h>
#include <gnuradio/top_block.h>
#include <gnuradio/wigenai/hwi_channel_cc.h>
#include <limits>
#include <random>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

namespace gr {
namespace wigenai {

namespace {

// Unit-power QPSK-like test signal: random signs on I and Q, amplitude 1/sqrt(2), plus
// a small Gaussian jitter so that quantizer cells other than the nearest get used.
std::vector<gr_complex> test_signal(size_t n, unsigned seed, double jitter = 0.3)
{
    std::mt19937 rng(seed);
    std::normal_distribution<double> g(0.0, jitter);
    std::bernoulli_distribution coin(0.5);
    const double a = std::sqrt(0.5);
    std::vector<gr_complex> x(n);
    for (auto& v : x) {
        v = gr_complex(static_cast<float>((coin(rng) ? a : -a) + g(rng)),
                       static_cast<float>((coin(rng) ? a : -a) + g(rng)));
    }
    return x;
}

std::vector<gr_complex> run_block(hwi_channel_cc::sptr blk,
                                  const std::vector<gr_complex>& x)
{
    auto tb = gr::make_top_block("qa_hwi_channel_cc");
    auto src = gr::blocks::vector_source_c::make(x);
    auto snk = gr::blocks::vector_sink_c::make();
    tb->connect(src, 0, blk, 0);
    tb->connect(blk, 0, snk, 0);
    tb->run();
    return snk->data();
}

// Reference mid-rise quantizer, written from the formula in the header.
double ref_quantize(double r, int bits, double full_scale)
{
    const double step = 2.0 * full_scale / std::pow(2.0, bits);
    const double top = full_scale - step / 2.0;
    const double v = step * (std::floor(r / step) + 0.5);
    return v < -top ? -top : (v > top ? top : v);
}

void expect_invalid(const std::function<void()>& action, const std::string& name)
{
    try {
        action();
    } catch (const std::invalid_argument& e) {
        const std::string what = e.what();
        BOOST_CHECK_MESSAGE(what.find(name) != std::string::npos,
                            "message should name " + name + ": " + what);
        return;
    }
    BOOST_ERROR("no std::invalid_argument for " + name);
}

} // namespace

BOOST_AUTO_TEST_CASE(t1_invalid_parameters_throw)
{
    const double nan = std::numeric_limits<double>::quiet_NaN();
    const double inf = std::numeric_limits<double>::infinity();
    expect_invalid([&] { hwi_channel_cc::make(nan); }, "snr_db");
    expect_invalid([&] { hwi_channel_cc::make(inf); }, "snr_db");
    expect_invalid([&] { hwi_channel_cc::make(10, -0.1); }, "kappa_t");
    expect_invalid([&] { hwi_channel_cc::make(10, 0, nan); }, "kappa_r");
    expect_invalid([&] { hwi_channel_cc::make(10, 0, 0, 17); }, "quant_bits");
    expect_invalid([&] { hwi_channel_cc::make(10, 0, 0, 0, -1); }, "adc_bits");
    expect_invalid([&] { hwi_channel_cc::make(10, 0, 0, 0, 0, "rayleigh"); }, "noise");
    expect_invalid([&] { hwi_channel_cc::make(10, 0, 0, 0, 0, "awgn", 0.0); },
                   "dac_full_scale");
    expect_invalid([&] { hwi_channel_cc::make(10, 0, 0, 0, 0, "awgn", 1.0, -3.0); },
                   "adc_loading");
    expect_invalid([&] { hwi_channel_cc::make(-4000.0); }, "snr_db");

    auto blk = hwi_channel_cc::make(10.0, 0.1, 0.05, 4, 6, "LAPLACE");
    BOOST_CHECK_EQUAL(blk->noise(), "laplace");
    expect_invalid([&] { blk->set_kappa_t(-1.0); }, "kappa_t");
    expect_invalid([&] { blk->set_kappa_r(inf); }, "kappa_r");
    expect_invalid([&] { blk->set_snr_db(nan); }, "snr_db");
    expect_invalid([&] { blk->set_quant_bits(20); }, "quant_bits");
    expect_invalid([&] { blk->set_adc_bits(-2); }, "adc_bits");
    expect_invalid([&] { blk->set_noise("pink"); }, "noise");
    // A rejected value leaves the block as it was.
    BOOST_CHECK_EQUAL(blk->kappa_t(), 0.1);
    BOOST_CHECK_EQUAL(blk->kappa_r(), 0.05);
    BOOST_CHECK_EQUAL(blk->snr_db(), 10.0);
    BOOST_CHECK_EQUAL(blk->quant_bits(), 4);
    BOOST_CHECK_EQUAL(blk->adc_bits(), 6);
    BOOST_CHECK_EQUAL(blk->noise(), "laplace");
}

BOOST_AUTO_TEST_CASE(t2_getters_and_setters)
{
    auto blk = hwi_channel_cc::make(20.0, 0.1, 0.2, 3, 5, "awgn", 1.5, 2.5, 7);
    BOOST_CHECK_CLOSE(blk->n0(), 0.01, 1e-9);
    const double a = 2.5 * std::sqrt((1.0 + 0.01 + 0.04 + 0.01) / 2.0);
    BOOST_CHECK_CLOSE(blk->adc_full_scale(), a, 1e-9);
    BOOST_CHECK_EQUAL(blk->dac_full_scale(), 1.5);
    BOOST_CHECK_EQUAL(blk->adc_loading(), 2.5);
    BOOST_CHECK_EQUAL(blk->seed(), 7u);
    blk->set_snr_db(0.0);
    blk->set_kappa_t(0.0);
    blk->set_kappa_r(0.0);
    blk->set_quant_bits(0);
    blk->set_adc_bits(8);
    blk->set_noise("laplace");
    BOOST_CHECK_EQUAL(blk->snr_db(), 0.0);
    BOOST_CHECK_CLOSE(blk->n0(), 1.0, 1e-9);
    BOOST_CHECK_CLOSE(blk->adc_full_scale(), 2.5, 1e-9);
    BOOST_CHECK_EQUAL(blk->quant_bits(), 0);
    BOOST_CHECK_EQUAL(blk->adc_bits(), 8);
    BOOST_CHECK_EQUAL(blk->noise(), "laplace");
}

BOOST_AUTO_TEST_CASE(t3_dac_alone_is_the_quantizer)
{
    const auto x = test_signal(4000, 1);
    for (int bits : { 1, 2, 3, 5 }) {
        auto blk = hwi_channel_cc::make(300.0, 0.0, 0.0, bits, 0, "awgn", 1.0);
        const auto y = run_block(blk, x);
        BOOST_REQUIRE_EQUAL(y.size(), x.size());
        for (size_t i = 0; i < x.size(); i++) {
            BOOST_REQUIRE_SMALL(y[i].real() - ref_quantize(x[i].real(), bits, 1.0), 1e-6);
            BOOST_REQUIRE_SMALL(y[i].imag() - ref_quantize(x[i].imag(), bits, 1.0), 1e-6);
        }
    }
}

BOOST_AUTO_TEST_CASE(t4_residual_variance)
{
    const size_t n = 200000;
    const auto x = test_signal(n, 2, 0.0);
    for (const char* law : { "awgn", "laplace" }) {
        auto blk = hwi_channel_cc::make(10.0, 0.2, 0.1, 0, 0, law, 1.0, 3.0, 3);
        const auto y = run_block(blk, x);
        double sum = 0.0;
        for (size_t i = 0; i < n; i++) {
            sum += std::norm(std::complex<double>(y[i]) - std::complex<double>(x[i]));
        }
        const double expected = 0.2 * 0.2 + 0.1 * 0.1 + 0.1;
        BOOST_CHECK_CLOSE(sum / n, expected, 2.0); // percent
    }
}

BOOST_AUTO_TEST_CASE(t5_adc_levels)
{
    const int bits = 3;
    auto blk = hwi_channel_cc::make(5.0, 0.1, 0.1, 0, bits, "awgn", 1.0, 2.0, 4);
    const auto y = run_block(blk, test_signal(20000, 3));
    const double a = blk->adc_full_scale();
    std::set<float> expected;
    for (int k = 0; k < (1 << bits); k++) {
        expected.insert(static_cast<float>(-a + (k + 0.5) * 2.0 * a / (1 << bits)));
    }
    std::set<float> seen;
    for (const auto& v : y) {
        seen.insert(v.real());
        seen.insert(v.imag());
    }
    BOOST_REQUIRE_EQUAL(seen.size(), expected.size());
    auto e = expected.begin();
    for (float s : seen) {
        BOOST_CHECK_SMALL(s - *e++, 1e-6f);
    }
}

BOOST_AUTO_TEST_CASE(t6_nonfinite_inputs)
{
    auto x = test_signal(1000, 4);
    const float nan = std::numeric_limits<float>::quiet_NaN();
    const float inf = std::numeric_limits<float>::infinity();
    x[10] = gr_complex(nan, 0.0f);
    x[500] = gr_complex(0.5f, -inf);
    x[999] = gr_complex(inf, nan);
    auto blk = hwi_channel_cc::make(20.0, 0.05, 0.05, 4, 0);
    const auto y = run_block(blk, x);
    BOOST_REQUIRE_EQUAL(y.size(), x.size());
    for (const auto& v : y) {
        BOOST_REQUIRE(std::isfinite(v.real()) && std::isfinite(v.imag()));
    }
    BOOST_CHECK_EQUAL(blk->nonfinite_count(), 3u);
}

BOOST_AUTO_TEST_CASE(t7_reproducible_and_independent_of_chunking)
{
    const auto x = test_signal(3001, 5);
    auto make = [] {
        return hwi_channel_cc::make(3.0, 0.1, 0.2, 4, 6, "laplace", 1, 3, 99);
    };
    auto whole = make();
    auto chunked = make();
    std::vector<gr_complex> y1(x.size()), y2(x.size());
    gr_vector_const_void_star in(1);
    gr_vector_void_star out(1);
    in[0] = x.data();
    out[0] = y1.data();
    whole->work(static_cast<int>(x.size()), in, out);
    for (size_t start = 0; start < x.size(); start += 7) {
        const size_t len = std::min<size_t>(7, x.size() - start);
        in[0] = x.data() + start;
        out[0] = y2.data() + start;
        chunked->work(static_cast<int>(len), in, out);
    }
    for (size_t i = 0; i < x.size(); i++) {
        BOOST_REQUIRE_EQUAL(y1[i], y2[i]);
    }
    auto other = hwi_channel_cc::make(3.0, 0.1, 0.2, 4, 6, "laplace", 1, 3, 100);
    const auto y3 = run_block(other, x);
    size_t same = 0;
    for (size_t i = 0; i < x.size(); i++) {
        same += y1[i] == y3[i];
    }
    BOOST_CHECK_LT(same, x.size() / 2);
}

} /* namespace wigenai */
} /* namespace gr */
