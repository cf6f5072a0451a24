/* -*- c++ -*- */
/*
 * Copyright 2025 The WiGenAI authors.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "ddpm_shaper_c_impl.h"
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <gnuradio/io_signature.h>
#include <stdexcept>

namespace gr {
namespace wigenai {

namespace {

std::string resolve_shaper(const std::string& model_file, int order)
{
    if (order != 16 && order != 64) {
        throw std::invalid_argument("order: expected 16 or 64 (square QAM), got " +
                                    std::to_string(order));
    }
    return model_file.empty()
               ? detail::shipped_model("shaper", std::to_string(order) + "qam")
               : model_file;
}

} // namespace

ddpm_shaper_c::sptr ddpm_shaper_c::make(int order,
                                        const std::string& model_file,
                                        double snr_db,
                                        const std::string& sampler,
                                        int steps,
                                        int batch_size,
                                        int threads,
                                        const std::string& provider,
                                        uint64_t seed,
                                        int warmup_symbols)
{
    return gnuradio::make_block_sptr<ddpm_shaper_c_impl>(order,
                                                         model_file,
                                                         snr_db,
                                                         sampler,
                                                         steps,
                                                         batch_size,
                                                         threads,
                                                         provider,
                                                         seed,
                                                         warmup_symbols);
}

ddpm_shaper_c_impl::ddpm_shaper_c_impl(int order,
                                       const std::string& model_file,
                                       double snr_db,
                                       const std::string& sampler,
                                       int steps,
                                       int batch_size,
                                       int threads,
                                       const std::string& provider,
                                       uint64_t seed,
                                       int warmup_symbols)
    : gr::sync_block("ddpm_shaper_c",
                     gr::io_signature::make(0, 0, 0),
                     gr::io_signature::make(1, 1, sizeof(gr_complex)))
    , d_model_file(resolve_shaper(model_file, order))
    , d_net(d_model_file, "shaper", threads, batch_size, provider)
    , d_schedule(d_net.model().betas, d_net.model().input_scale)
    , d_sampler(sampler)
    , d_steps(steps)
    , d_warmup(warmup_symbols)
    , d_rng(seed)
{
    if (sampler != "ddpm" && sampler != "ddim") {
        throw std::invalid_argument("sampler: unknown '" + sampler +
                                    "', expected one of ('ddim', 'ddpm')");
    }
    if (steps < 1 || steps > d_schedule.T()) {
        throw std::invalid_argument("steps: expected 1.." +
                                    std::to_string(d_schedule.T()) + ", got " +
                                    std::to_string(steps));
    }
    if (warmup_symbols < 1000) {
        throw std::invalid_argument("warmup_symbols: expected >= 1000, got " +
                                    std::to_string(warmup_symbols));
    }
    if (static_cast<int>(d_net.model().points.size()) != order) {
        throw std::invalid_argument(d_model_file +
                                    ": contract field 'constellation' has " +
                                    std::to_string(d_net.model().points.size()) +
                                    " points, order is " + std::to_string(order));
    }
    set_snr_db(snr_db);
    d_logger->info(
        "{:s}: {:d}-QAM shaper, {:s}, {:d} network calls per symbol at {:g} dB",
        d_model_file,
        order,
        d_sampler,
        calls_per_symbol(),
        d_snr_db);
}

void ddpm_shaper_c_impl::set_snr_db(double snr_db)
{
    detail::check_snr_db(snr_db);
    gr::thread::scoped_lock guard(d_setlock);
    const auto& link = d_net.model().link;
    const double used = std::clamp(snr_db, link.snr_db_low, link.snr_db_high);
    if (used != snr_db && !d_warned) {
        d_logger->warn(
            "{:s}: snr_db {:g} is outside the model's trained range {:g}..{:g} "
            "dB; using {:g} dB (said once)",
            d_model_file,
            snr_db,
            link.snr_db_low,
            link.snr_db_high,
            used);
        d_warned = true;
    }
    d_snr_db = snr_db;
    d_start_step = d_schedule.start_step(std::pow(10.0, used / 10.0));

    // The pmf (and so the unit-energy scale) of the symbols at this SNR.
    std::vector<int> index;
    generate(static_cast<size_t>(d_warmup), index);
    const auto& points = d_net.model().points;
    d_pmf.assign(points.size(), 0.0);
    for (int i : index) {
        d_pmf[i] += 1.0 / index.size();
    }
    double energy = 0.0;
    for (size_t m = 0; m < points.size(); ++m) {
        energy += d_pmf[m] * std::norm(points[m]);
    }
    d_scale = 1.0 / std::sqrt(energy);
}

std::vector<gr_complex> ddpm_shaper_c_impl::points() const
{
    std::vector<gr_complex> out;
    for (const auto& p : d_net.model().points) {
        out.emplace_back(static_cast<float>(p.real() * d_scale),
                         static_cast<float>(p.imag() * d_scale));
    }
    return out;
}

int ddpm_shaper_c_impl::calls_per_symbol() const
{
    if (d_sampler == "ddim") {
        return static_cast<int>(
            d_schedule.ddim_steps(d_start_step, d_steps, detail::ddim_spacing).size());
    }
    return d_start_step + 1;
}

void ddpm_shaper_c_impl::generate(size_t n, std::vector<int>& index)
{
    const auto& points = d_net.model().points;
    const double scale = d_schedule.input_scale();
    const double ab = d_schedule.alpha_bar(d_start_step);
    const double signal = std::sqrt(ab) * scale;
    const double noise = std::sqrt(1.0 - ab);
    std::uniform_int_distribution<int> pick(0, static_cast<int>(points.size()) - 1);
    d_state.resize(2 * n);
    for (size_t i = 0; i < n; ++i) {
        const auto& p = points[pick(d_rng)];
        d_state[2 * i] = signal * p.real() + noise * d_normal(d_rng);
        d_state[2 * i + 1] = signal * p.imag() + noise * d_normal(d_rng);
    }
    if (d_sampler == "ddim") {
        detail::ddim_chain(d_net, d_schedule, d_state, n, d_start_step, d_steps, nullptr);
    } else {
        detail::ddpm_chain(d_net, d_schedule, d_state, n, d_start_step, nullptr, [this] {
            return d_normal(d_rng);
        });
    }
    index.resize(n);
    for (size_t i = 0; i < n; ++i) {
        double re = d_state[2 * i] / scale;
        double im = d_state[2 * i + 1] / scale;
        if (!std::isfinite(re) || !std::isfinite(im)) {
            re = im = 0.0; // a broken estimate snaps to an inner point, never NaN
        }
        index[i] = detail::nearest_point(points, re, im);
    }
}

int ddpm_shaper_c_impl::work(int noutput_items,
                             gr_vector_const_void_star&,
                             gr_vector_void_star& output_items)
{
    auto* out = static_cast<gr_complex*>(output_items[0]);
    gr::thread::scoped_lock guard(d_setlock);
    try {
        generate(static_cast<size_t>(noutput_items), d_index);
    } catch (const std::exception& err) {
        if (!d_failed) {
            d_logger->error("{:s}: inference failed ({:s}); stopping the flowgraph",
                            d_model_file,
                            err.what());
            d_failed = true;
        }
        return WORK_DONE;
    }
    const auto& points = d_net.model().points;
    for (int i = 0; i < noutput_items; ++i) {
        const auto& p = points[d_index[i]];
        out[i] = gr_complex(static_cast<float>(p.real() * d_scale),
                            static_cast<float>(p.imag() * d_scale));
    }
    return noutput_items;
}

} // namespace wigenai
} // namespace gr
