/* -*- c++ -*- */
/*
 * Copyright 2025 The WiGenAI authors.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

// C++ QA of ddpm_denoiser_cc on the shipped models (WIGENAI_MODELS points at the
// source tree's models/). The equality with the Python block is proved in
// python/gnuradio/wigenai/qa_ddpm_denoiser_cc.py.

#include <boost/test/unit_test.hpp>
#include <cmath>
#include <gnuradio/blocks/vector_sink.h>
#include <gnuradio/blocks/vector_source.h>
#include <gnuradio/tags.h>
#include <gnuradio/top_block.h>
#include <gnuradio/wigenai/ddpm_denoiser_cc.h>
#include <gnuradio/wigenai/hwi_channel_cc.h>
#include <limits>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

namespace gr {
namespace wigenai {

namespace {

std::string message_of(const std::function<void()>& f)
{
    try {
        f();
    } catch (const std::invalid_argument& err) {
        return err.what();
    }
    return "";
}

bool contains(const std::string& text, const std::string& part)
{
    return text.find(part) != std::string::npos;
}

// Unit-energy QPSK symbols of random indices (wigenai.constellation: bit 1 is the I
// label, bit 0 the Q label; label 1 is the positive level).
std::vector<gr_complex> qpsk(size_t n)
{
    std::mt19937 rng(7);
    std::uniform_int_distribution<int> pick(0, 3);
    const float a = static_cast<float>(std::sqrt(0.5));
    std::vector<gr_complex> x(n);
    for (auto& v : x) {
        const int s = pick(rng);
        v = gr_complex((s & 2) ? a : -a, (s & 1) ? a : -a);
    }
    return x;
}

} // namespace

BOOST_AUTO_TEST_CASE(t1_bad_parameters_name_themselves)
{
    BOOST_CHECK(
        contains(message_of([] { ddpm_denoiser_cc::make("8psk"); }), "modulation"));
    BOOST_CHECK(
        contains(message_of([] { ddpm_denoiser_cc::make("qpsk", "", NAN); }), "snr_db"));
    BOOST_CHECK(contains(
        message_of([] { ddpm_denoiser_cc::make("qpsk", "", 0.0, "euler"); }), "sampler"));
    BOOST_CHECK(contains(
        message_of([] { ddpm_denoiser_cc::make("qpsk", "", 0.0, "ddim", 0); }), "steps"));
    BOOST_CHECK(
        contains(message_of([] { ddpm_denoiser_cc::make("qpsk", "", 0.0, "ddim", 101); }),
                 "steps"));
    BOOST_CHECK(contains(
        message_of([] { ddpm_denoiser_cc::make("qpsk", "", 0.0, "ddpm", 2, -1); }),
        "runs"));
    BOOST_CHECK(contains(message_of([] {
                             ddpm_denoiser_cc::make(
                                 "qpsk", "", 0.0, "ddim", 2, 1, "mean", 0);
                         }),
                         "batch_size"));
    BOOST_CHECK(contains(message_of([] {
                             ddpm_denoiser_cc::make(
                                 "qpsk", "", 0.0, "ddim", 2, 1, "mean", 64, 0);
                         }),
                         "threads"));
    BOOST_CHECK(
        contains(message_of([] {
                     ddpm_denoiser_cc::make(
                         "qpsk", "", 0.0, "ddim", 2, 1, "mean", 64, 1, false, "tpu");
                 }),
                 "provider"));
    // A model of another modulation, a missing file, a file that is not ONNX.
    BOOST_CHECK(contains(message_of([] {
                             ddpm_denoiser_cc::make(
                                 "16qam",
                                 std::string(std::getenv("WIGENAI_MODELS")) +
                                     "/denoiser-qpsk.onnx");
                         }),
                         "constellation"));
    BOOST_CHECK(contains(
        message_of([] { ddpm_denoiser_cc::make("qpsk", "/nonexistent/model.onnx"); }),
        "/nonexistent/model.onnx"));
    const std::string shaper =
        std::string(std::getenv("WIGENAI_MODELS")) + "/shaper-16qam.onnx";
    BOOST_CHECK(
        contains(message_of([&] { ddpm_denoiser_cc::make("16qam", shaper); }), "kind"));
}

BOOST_AUTO_TEST_CASE(t2_shipped_qpsk_model_decides_like_map)
{
    // On the model's training link (kappa 0.1, 4-bit DAC and ADC) the MAP decision for
    // QPSK is the sign of I and Q (docs/REPRODUCTION.md); the shipped model with DDIM
    // from the matched step makes the same decisions.
    const auto x = qpsk(20000);
    auto src = blocks::vector_source_c::make(x);
    auto link = hwi_channel_cc::make(-5.0, 0.1, 0.1, 4, 4, "awgn", 1.0, 3.0, 3);
    auto received = blocks::vector_sink_c::make();
    auto block =
        ddpm_denoiser_cc::make("qpsk", "", -5.0, "ddim", 2, 1, "mean", 4096, 1, true);
    auto out = blocks::vector_sink_c::make();
    auto decided = blocks::vector_sink_b::make();
    auto tb = make_top_block("qa");
    tb->connect(src, 0, link, 0);
    tb->connect(link, 0, received, 0);
    tb->connect(link, 0, block, 0);
    tb->connect(block, 0, out, 0);
    tb->connect(block, 1, decided, 0);
    tb->run();
    const auto& y = received->data();
    BOOST_REQUIRE_EQUAL(out->data().size(), x.size());
    size_t agree = 0;
    for (size_t i = 0; i < y.size(); ++i) {
        const int sign = (y[i].real() > 0 ? 2 : 0) | (y[i].imag() > 0 ? 1 : 0);
        agree += decided->data()[i] == sign;
        BOOST_CHECK(std::isfinite(out->data()[i].real()));
    }
    BOOST_CHECK_GT(static_cast<double>(agree) / y.size(), 0.995);
    BOOST_CHECK_EQUAL(block->calls_per_symbol(), 2);
}

BOOST_AUTO_TEST_CASE(t3_nonfinite_and_huge_inputs_stay_finite)
{
    std::vector<gr_complex> y = { { NAN, 0.f },
                                  { std::numeric_limits<float>::infinity(), 1.f },
                                  { 1e6f, -1e6f },
                                  { 0.5f, 0.5f } };
    auto src = blocks::vector_source_c::make(y);
    auto block = ddpm_denoiser_cc::make("qpsk", "", -10.0);
    auto out = blocks::vector_sink_c::make();
    auto tb = make_top_block("qa");
    tb->connect(src, 0, block, 0);
    tb->connect(block, 0, out, 0);
    tb->run();
    BOOST_REQUIRE_EQUAL(out->data().size(), y.size());
    for (const auto& v : out->data()) {
        BOOST_CHECK(std::isfinite(v.real()) && std::isfinite(v.imag()));
    }
    BOOST_CHECK_EQUAL(block->nonfinite_count(), 2u);
}

BOOST_AUTO_TEST_CASE(t4_esn0_tag_moves_the_start_step_from_its_item_on)
{
    // A measured Es/N0 of 25 dB from item 1000 on; a tag that is not a number at
    // item 2000 is ignored. Items before the first tag are those of an untagged run.
    const auto x = qpsk(3000);
    const auto tag_at = [](uint64_t offset, const pmt::pmt_t& value) {
        gr::tag_t tag;
        tag.offset = offset;
        tag.key = pmt::mp("esn0_db");
        tag.value = value;
        return tag;
    };
    const std::vector<gr::tag_t> tags = { tag_at(1000, pmt::from_double(25.0)),
                                          tag_at(2000, pmt::mp("loud")) };
    const auto run = [&](const std::vector<gr::tag_t>& with,
                         ddpm_denoiser_cc::sptr block) {
        auto src = blocks::vector_source_c::make(x, false, 1, with);
        auto out = blocks::vector_sink_c::make();
        auto tb = make_top_block("qa");
        tb->connect(src, 0, block, 0);
        tb->connect(block, 0, out, 0);
        tb->run();
        return out;
    };
    auto tagged = ddpm_denoiser_cc::make("qpsk", "", -5.0);
    auto plain = ddpm_denoiser_cc::make("qpsk", "", -5.0);
    const int configured_step = plain->start_step();
    const auto y_tagged = run(tags, tagged);
    const auto y_plain = run({}, plain);

    BOOST_REQUIRE_EQUAL(y_tagged->data().size(), x.size());
    // Batches of other shapes may round differently in ONNX Runtime: 1e-5 apart.
    size_t differ = 0;
    for (size_t i = 0; i < x.size(); ++i) {
        const bool same = std::abs(y_tagged->data()[i] - y_plain->data()[i]) < 1e-5f;
        if (i < 1000) {
            BOOST_CHECK(same);
        } else {
            differ += !same;
        }
    }
    BOOST_CHECK_GT(differ, (x.size() - 1000) / 2);
    BOOST_CHECK_EQUAL(tagged->esn0_db(), 25.0);
    BOOST_CHECK_LT(tagged->start_step(), configured_step);
    BOOST_CHECK_EQUAL(tagged->snr_db(), -5.0);
    BOOST_REQUIRE_EQUAL(y_tagged->tags().size(), 2u);
    BOOST_CHECK_EQUAL(y_tagged->tags()[0].offset, 1000u);
    BOOST_CHECK_EQUAL(y_tagged->tags()[1].offset, 2000u);

    tagged->set_snr_db(-5.0);
    BOOST_CHECK(std::isnan(tagged->esn0_db()));
    BOOST_CHECK_EQUAL(tagged->start_step(), configured_step);
}

} // namespace wigenai
} // namespace gr
