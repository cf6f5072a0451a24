/* -*- c++ -*- */
/*
 * Copyright 2025 The WiGenAI authors.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "ddpm_denoiser_cc_impl.h"
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <gnuradio/io_signature.h>
#include <limits>
#include <stdexcept>

namespace gr {
namespace wigenai {

namespace {

int points_of(const std::string& modulation)
{
    if (modulation == "qpsk") {
        return 4;
    }
    if (modulation == "16qam") {
        return 16;
    }
    if (modulation == "64qam") {
        return 64;
    }
    throw std::invalid_argument("modulation: unknown '" + modulation +
                                "', expected one of ['16qam', '64qam', 'qpsk']");
}

// The model file, or the shipped one of the modulation.
std::string resolve_model(const std::string& model_file, const std::string& modulation)
{
    points_of(modulation); // an unknown modulation is the first error to report
    return model_file.empty() ? detail::shipped_model("denoiser", modulation)
                              : model_file;
}

std::string check_sampler(const std::string& sampler)
{
    if (sampler != "ddim" && sampler != "ddpm") {
        throw std::invalid_argument("sampler: unknown '" + sampler +
                                    "', expected one of ('ddim', 'ddpm')");
    }
    return sampler;
}

std::string check_combine(const std::string& combine)
{
    if (combine != "mean" && combine != "vote") {
        throw std::invalid_argument("combine: unknown '" + combine +
                                    "', expected one of ('mean', 'vote')");
    }
    return combine;
}

int check_positive(int value, const char* name)
{
    if (value < 1) {
        throw std::invalid_argument(std::string(name) +
                                    ": expected an integer >= 1, got " +
                                    std::to_string(value));
    }
    return value;
}

} // namespace

bool ddpm_denoiser_cc::cuda_available() { return detail::onnx_epsilon::cuda_available(); }

ddpm_denoiser_cc::sptr ddpm_denoiser_cc::make(const std::string& modulation,
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
                                              const std::string& link)
{
    return gnuradio::make_block_sptr<ddpm_denoiser_cc_impl>(modulation,
                                                            model_file,
                                                            snr_db,
                                                            sampler,
                                                            steps,
                                                            runs,
                                                            combine,
                                                            batch_size,
                                                            threads,
                                                            decisions,
                                                            provider,
                                                            seed,
                                                            link);
}

ddpm_denoiser_cc_impl::ddpm_denoiser_cc_impl(const std::string& modulation,
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
                                             const std::string& link)
    : gr::sync_block(
          "ddpm_denoiser_cc",
          gr::io_signature::make(1, 1, sizeof(gr_complex)),
          decisions ? gr::io_signature::make2(2, 2, sizeof(gr_complex), sizeof(uint8_t))
                    : gr::io_signature::make(1, 1, sizeof(gr_complex)))
    , d_model_file(resolve_model(model_file, modulation))
    , d_provider(provider)
    , d_net(d_model_file, "denoiser", threads, batch_size, provider)
    , d_schedule(d_net.model().betas, d_net.model().input_scale)
    , d_conditional(d_net.model().variant == "conditional")
    , d_decisions(decisions)
    , d_snr_db(0.0)
    , d_sampler(check_sampler(sampler))
    , d_steps(0)
    , d_runs(check_positive(runs, "runs"))
    , d_combine(check_combine(combine))
    , d_start_step(0)
    , d_esn0_db(std::numeric_limits<double>::quiet_NaN())
    , d_esn0_key(pmt::mp("esn0_db"))
    , d_rng(seed)
{
    const int order = points_of(modulation);
    const auto& model = d_net.model();
    if (static_cast<int>(model.points.size()) != order) {
        throw std::invalid_argument(
            d_model_file + ": contract field 'constellation' has " +
            std::to_string(model.points.size()) + " points, the block is set to " +
            modulation + " (" + std::to_string(order) + " points)");
    }
    if (order > 256) {
        throw std::invalid_argument(
            "modulation: the decision output holds at most 256 points");
    }
    if (model.start != "matched") {
        throw std::invalid_argument(
            d_model_file + ": contract field 'start' is '" + model.start +
            "': this block runs chains from the received sample only; the Python "
            "block (wigenai.ddpm_denoiser) runs this model");
    }
    d_order = static_cast<size_t>(order);
    if (model.decision_points.empty()) {
        for (const auto& p : model.points) {
            const auto& link = model.link;
            d_decision_points.emplace_back(
                detail::quantize(p.real(), link.quant_bits, link.dac_full_scale),
                detail::quantize(p.imag(), link.quant_bits, link.dac_full_scale));
            d_decision_labels.push_back(static_cast<uint8_t>(d_decision_labels.size()));
        }
    } else {
        d_cloud =
            detail::decision_cloud(model.decision_points, model.decision_labels, d_order);
    }
    if (!link.empty()) {
        if (link != "paper" && link != "pluto-like" && link != "harsh") {
            throw std::invalid_argument("link: unknown preset '" + link +
                                        "', expected paper, pluto-like, harsh or ''");
        }
        if (model.preset != link) {
            d_logger->warn("{:s}: the model was trained for link preset '{:s}', it is "
                           "used with '{:s}'",
                           d_model_file,
                           model.preset,
                           link);
        }
    }
    set_steps(steps);
    set_snr_db(snr_db);
    d_logger->info("{:s}: {:s} denoiser on {:s}, {:s} with {:d} network calls per "
                   "symbol at {:g} dB",
                   d_model_file,
                   model.variant,
                   d_provider,
                   d_sampler,
                   calls_per_symbol(),
                   d_snr_db);
}

// ----- settings
// -------------------------------------------------------------------------

void ddpm_denoiser_cc_impl::set_snr_db(double snr_db)
{
    detail::check_snr_db(snr_db);
    gr::thread::scoped_lock guard(d_setlock);
    d_snr_db = snr_db;
    d_esn0_db = std::numeric_limits<double>::quiet_NaN();
    d_start_step =
        d_schedule.start_step(detail::effective_snr(d_net.model().link, snr_db));
}

bool ddpm_denoiser_cc_impl::follow_tag(const pmt::pmt_t& value)
{
    // Es/N0 taken for +inf (a noiseless fit): far above any step, so t* = 0, as in
    // the Python block and the library's burst hook.
    constexpr double noiseless_db = 300.0;
    double esn0_db = std::numeric_limits<double>::quiet_NaN();
    if (pmt::is_number(value) && !pmt::is_complex(value)) {
        esn0_db = pmt::to_double(value);
    }
    if (esn0_db == std::numeric_limits<double>::infinity()) {
        esn0_db = noiseless_db;
    }
    if (!std::isfinite(esn0_db) || std::abs(esn0_db) > 3000.0) {
        if (!d_bad_tag_logged) {
            d_logger->warn("ignored an esn0_db tag that is not a finite Es/N0 in dB "
                           "({:s}); logged once",
                           pmt::write_string(value));
            d_bad_tag_logged = true;
        }
        return false;
    }
    // The measurement already holds every impairment: no training-link distortion.
    d_esn0_db = esn0_db;
    d_start_step = d_schedule.start_step(std::pow(10.0, esn0_db / 10.0));
    return true;
}

void ddpm_denoiser_cc_impl::set_sampler(const std::string& sampler)
{
    gr::thread::scoped_lock guard(d_setlock);
    d_sampler = check_sampler(sampler);
}

void ddpm_denoiser_cc_impl::set_steps(int steps)
{
    if (steps < 1 || steps > d_schedule.T()) {
        throw std::invalid_argument("steps: expected 1.." +
                                    std::to_string(d_schedule.T()) +
                                    " (the model's T), got " + std::to_string(steps));
    }
    gr::thread::scoped_lock guard(d_setlock);
    d_steps = steps;
}

void ddpm_denoiser_cc_impl::set_runs(int runs)
{
    check_positive(runs, "runs");
    gr::thread::scoped_lock guard(d_setlock);
    d_runs = runs;
}

void ddpm_denoiser_cc_impl::set_combine(const std::string& combine)
{
    gr::thread::scoped_lock guard(d_setlock);
    d_combine = check_combine(combine);
}

int ddpm_denoiser_cc_impl::calls_per_symbol() const
{
    if (d_sampler == "ddim") {
        return static_cast<int>(
            d_schedule.ddim_steps(d_start_step, d_steps, detail::ddim_spacing).size());
    }
    return d_runs * (d_start_step + 1);
}

// ----- the reverse chain ---------------------------------------------------------------

void ddpm_denoiser_cc_impl::run_chain(size_t n, double* x0)
{
    const int runs = d_sampler == "ddim" ? 1 : d_runs;
    d_state.resize(2 * n);
    d_x0.resize(static_cast<size_t>(runs) * 2 * n);
    for (int run = 0; run < runs; ++run) {
        std::copy(d_start.begin(), d_start.begin() + 2 * n, d_state.begin());
        const double* cond = d_conditional ? d_start.data() : nullptr;
        if (d_sampler == "ddim") {
            detail::ddim_chain(
                d_net, d_schedule, d_state, n, d_start_step, d_steps, cond);
        } else {
            detail::ddpm_chain(d_net, d_schedule, d_state, n, d_start_step, cond, [this] {
                return d_normal(d_rng);
            });
        }
        std::copy(d_state.begin(), d_state.end(), d_x0.begin() + run * 2 * n);
    }

    const double scale = d_schedule.input_scale();
    for (size_t k = 0; k < 2 * n; ++k) {
        double sum = 0.0;
        for (int run = 0; run < runs; ++run) {
            sum += d_x0[run * 2 * n + k];
        }
        x0[k] = sum / runs / scale;
    }
}

uint8_t ddpm_denoiser_cc_impl::nearest(double re, double im) const
{
    if (!d_cloud.empty()) {
        return static_cast<uint8_t>(d_cloud.decide(re, im));
    }
    return d_decision_labels[detail::nearest_point(d_decision_points, re, im)];
}

int ddpm_denoiser_cc_impl::work(int noutput_items,
                                gr_vector_const_void_star& input_items,
                                gr_vector_void_star& output_items)
{
    const auto* in = static_cast<const gr_complex*>(input_items[0]);
    auto* out = static_cast<gr_complex*>(output_items[0]);
    auto* decided = d_decisions ? static_cast<uint8_t*>(output_items[1]) : nullptr;
    const size_t n = static_cast<size_t>(noutput_items);
    gr::thread::scoped_lock guard(d_setlock);

    // Runs between esn0_db tags: each tag sets the start step from its item on.
    const uint64_t first = nitems_read(0);
    get_tags_in_window(d_tags, 0, 0, n, d_esn0_key);
    std::stable_sort(d_tags.begin(), d_tags.end(), gr::tag_t::offset_compare);
    size_t lo = 0;
    try {
        for (const auto& tag : d_tags) {
            const size_t at = static_cast<size_t>(tag.offset - first);
            if (at > lo) {
                denoise(in + lo, out + lo, decided ? decided + lo : nullptr, at - lo);
                lo = at;
            }
            follow_tag(tag.value);
        }
        denoise(in + lo, out + lo, decided ? decided + lo : nullptr, n - lo);
    } catch (const std::exception& err) {
        // A model failure ends the flowgraph; it must not throw through the scheduler.
        if (!d_failed) {
            d_logger->error("{:s}: inference failed ({:s}); stopping the flowgraph",
                            d_model_file,
                            err.what());
            d_failed = true;
        }
        return WORK_DONE;
    }
    return noutput_items;
}

void ddpm_denoiser_cc_impl::denoise(const gr_complex* in,
                                    gr_complex* out,
                                    uint8_t* decided,
                                    size_t n)
{
    if (n == 0) {
        return;
    }

    // Start state: y scaled to the start step, non-finite samples replaced by 0.
    const double gain =
        std::sqrt(d_schedule.alpha_bar(d_start_step)) * d_schedule.input_scale();
    d_start.resize(2 * n);
    uint64_t bad = 0;
    for (size_t i = 0; i < n; ++i) {
        double re = in[i].real();
        double im = in[i].imag();
        if (!std::isfinite(re) || !std::isfinite(im)) {
            re = im = 0.0;
            ++bad;
        }
        d_start[2 * i] = std::clamp(re * gain, -detail::start_clip, detail::start_clip);
        d_start[2 * i + 1] =
            std::clamp(im * gain, -detail::start_clip, detail::start_clip);
    }
    if (bad) {
        if (d_nonfinite == 0) {
            d_logger->warn("non-finite input samples replaced by 0 (counted in "
                           "nonfinite_count(); logged once)");
        }
        d_nonfinite += bad;
    }

    std::vector<double> x0(2 * n);
    if (d_sampler == "ddpm" && d_runs > 1 && d_combine == "vote") {
        // Majority of the runs' decisions; the output symbol is the mean estimate.
        const int runs = d_runs;
        std::vector<uint16_t> counts(n * d_order, 0);
        std::vector<double> sum(2 * n, 0.0);
        d_runs = 1;
        for (int run = 0; run < runs; ++run) {
            run_chain(n, x0.data());
            for (size_t i = 0; i < n; ++i) {
                counts[i * d_order + nearest(x0[2 * i], x0[2 * i + 1])]++;
                sum[2 * i] += x0[2 * i];
                sum[2 * i + 1] += x0[2 * i + 1];
            }
        }
        d_runs = runs;
        for (size_t k = 0; k < 2 * n; ++k) {
            x0[k] = sum[k] / runs;
        }
        if (decided) {
            const size_t m = d_order;
            for (size_t i = 0; i < n; ++i) {
                decided[i] =
                    static_cast<uint8_t>(std::max_element(counts.begin() + i * m,
                                                          counts.begin() + (i + 1) * m) -
                                         (counts.begin() + i * m));
            }
        }
    } else {
        run_chain(n, x0.data());
        if (decided) {
            for (size_t i = 0; i < n; ++i) {
                decided[i] = nearest(x0[2 * i], x0[2 * i + 1]);
            }
        }
    }

    uint64_t bad_out = 0;
    for (size_t i = 0; i < n; ++i) {
        double re = x0[2 * i];
        double im = x0[2 * i + 1];
        if (!std::isfinite(re) || !std::isfinite(im)) {
            re = im = 0.0;
            ++bad_out;
        }
        out[i] = gr_complex(static_cast<float>(re), static_cast<float>(im));
    }
    if (bad_out) {
        if (d_nonfinite_out == 0) {
            d_logger->error(
                "{:s}: the model gave non-finite estimates; they are replaced "
                "by 0 (counted in nonfinite_output_count(); logged once)",
                d_model_file);
        }
        d_nonfinite_out += bad_out;
    }
}

} // namespace wigenai
} // namespace gr
