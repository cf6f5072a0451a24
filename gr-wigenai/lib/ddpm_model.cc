/* -*- c++ -*- */
/*
 * Copyright 2025 The WiGenAI authors.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "ddpm_model.h"

#include <onnxruntime/onnxruntime_cxx_api.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <set>
#include <stdexcept>

#ifndef WIGENAI_MODELS_DIR
#define WIGENAI_MODELS_DIR "/usr/local/share/gr-wigenai/models"
#endif

namespace gr {
namespace wigenai {
namespace detail {

namespace {

constexpr int format_version = 1;
const char* const metadata_key = "wigenai";

[[noreturn]] void
field_error(const std::string& path, const std::string& field, const std::string& message)
{
    throw std::invalid_argument(path + ": contract field '" + field + "' " + message);
}

double number_or(const nlohmann::json& doc, const char* key, double fallback)
{
    auto it = doc.find(key);
    return (it != doc.end() && it->is_number()) ? it->get<double>() : fallback;
}

// One process-wide environment: onnxruntime allows one, and creating it per block
// would re-create its thread pools and logger.
Ort::Env& environment()
{
    static Ort::Env env(ORT_LOGGING_LEVEL_WARNING, "gr-wigenai");
    return env;
}

size_t padded_rows(size_t n, size_t batch)
{
    size_t rows = 64;
    while (rows < n) {
        rows *= 2;
    }
    return std::min(rows, batch);
}

} // namespace

contract parse_contract(const std::string& json_text,
                        const std::string& path,
                        const std::string& kind)
{
    nlohmann::json doc;
    try {
        doc = nlohmann::json::parse(json_text);
    } catch (const nlohmann::json::exception& err) {
        throw std::invalid_argument(path + ": contract is not valid JSON (" +
                                    std::string(err.what()) + ")");
    }
    if (!doc.is_object()) {
        throw std::invalid_argument(path + ": contract is not a JSON object");
    }
    for (const char* name :
         { "format_version", "kind", "variant", "betas", "constellation" }) {
        if (!doc.contains(name)) {
            field_error(path, name, "is missing");
        }
    }
    if (!doc["format_version"].is_number_integer() ||
        doc["format_version"].get<int>() != format_version) {
        field_error(path,
                    "format_version",
                    "is " + doc["format_version"].dump() + ", this version reads 1");
    }

    contract c;
    c.path = path;
    c.kind = doc["kind"].is_string() ? doc["kind"].get<std::string>() : "";
    if (c.kind != "denoiser" && c.kind != "shaper") {
        field_error(
            path, "kind", "is " + doc["kind"].dump() + ", expected denoiser or shaper");
    }
    if (!kind.empty() && c.kind != kind) {
        field_error(path, "kind", "is '" + c.kind + "', expected '" + kind + "'");
    }
    c.variant = doc["variant"].is_string() ? doc["variant"].get<std::string>() : "";
    if (c.variant != "unconditional" && c.variant != "conditional") {
        field_error(path,
                    "variant",
                    "is " + doc["variant"].dump() +
                        ", expected one of ['conditional', 'unconditional']");
    }
    if (doc.contains("prediction") && doc["prediction"] != "epsilon") {
        field_error(path,
                    "prediction",
                    "is " + doc["prediction"].dump() + ", expected 'epsilon'");
    }

    const auto& betas = doc["betas"];
    if (!betas.is_array() || betas.size() < 2) {
        field_error(path, "betas", "is invalid: need at least 2 finite values");
    }
    for (const auto& b : betas) {
        double value = b.is_number() ? b.get<double>() : NAN;
        if (!std::isfinite(value) || value <= 0.0 || value >= 1.0) {
            field_error(path, "betas", "is invalid: every beta must lie in (0, 1)");
        }
        c.betas.push_back(value);
    }
    if (doc.contains("T") &&
        (!doc["T"].is_number_integer() || doc["T"].get<size_t>() != c.betas.size())) {
        field_error(path,
                    "T",
                    "is " + doc["T"].dump() + " but there are " +
                        std::to_string(c.betas.size()) + " betas");
    }
    c.input_scale = number_or(doc, "input_scale", c.input_scale);
    if (!(c.input_scale > 0.0) || !std::isfinite(c.input_scale)) {
        field_error(path, "input_scale", "is not a number > 0");
    }

    const auto& constellation = doc["constellation"];
    const char* points_rule = "needs 'points' as [[re, im], ...] matching 'order'";
    if (!constellation.is_object() || !constellation.contains("points") ||
        !constellation["points"].is_array() || constellation["points"].size() < 2) {
        field_error(path, "constellation", points_rule);
    }
    for (const auto& p : constellation["points"]) {
        if (!p.is_array() || p.size() != 2 || !p[0].is_number() || !p[1].is_number()) {
            field_error(path, "constellation", points_rule);
        }
        c.points.emplace_back(p[0].get<double>(), p[1].get<double>());
    }
    if (constellation.contains("order") &&
        (!constellation["order"].is_number_integer() ||
         constellation["order"].get<size_t>() != c.points.size())) {
        field_error(path, "constellation", points_rule);
    }

    if (doc.contains("start")) {
        c.start = doc["start"].is_string() ? doc["start"].get<std::string>() : "";
        if (c.start != "matched" && c.start != "prior") {
            field_error(path,
                        "start",
                        "is " + doc["start"].dump() + ", expected 'matched' or 'prior'");
        }
    }
    if (doc.contains("decision") && doc["decision"].is_object() &&
        !doc["decision"].empty()) {
        const auto& decision = doc["decision"];
        const char* rule = "needs 'points' [[re, im], ...] and as many integer "
                           "'labels' of constellation points";
        if (!decision.contains("points") || !decision.contains("labels") ||
            !decision["points"].is_array() || !decision["labels"].is_array() ||
            decision["points"].size() != decision["labels"].size() ||
            decision["points"].empty()) {
            field_error(path, "decision", rule);
        }
        for (const auto& p : decision["points"]) {
            if (!p.is_array() || p.size() != 2 || !p[0].is_number() ||
                !p[1].is_number() || !std::isfinite(p[0].get<double>()) ||
                !std::isfinite(p[1].get<double>())) {
                field_error(path, "decision", rule);
            }
            c.decision_points.emplace_back(p[0].get<double>(), p[1].get<double>());
        }
        for (const auto& label : decision["labels"]) {
            if (!label.is_number_integer() || label.get<long long>() < 0 ||
                label.get<long long>() >= static_cast<long long>(c.points.size())) {
                field_error(path, "decision", rule);
            }
            c.decision_labels.push_back(label.get<int>());
        }
    }

    if (doc.contains("training_link") && doc["training_link"].is_object()) {
        const auto& link = doc["training_link"];
        if (link.contains("preset") && link["preset"].is_string()) {
            c.preset = link["preset"].get<std::string>();
        }
        c.link.kappa_t = number_or(link, "kappa_t", 0.0);
        c.link.kappa_r = number_or(link, "kappa_r", 0.0);
        c.link.quant_bits = static_cast<int>(number_or(link, "quant_bits", 0));
        c.link.adc_bits = static_cast<int>(number_or(link, "adc_bits", 0));
        c.link.dac_full_scale = number_or(link, "dac_full_scale", 1.0);
        c.link.adc_loading = number_or(link, "adc_loading", 3.0);
        auto range = link.find("snr_db_range");
        if (range != link.end() && range->is_array() && range->size() == 2 &&
            (*range)[0].is_number() && (*range)[1].is_number()) {
            c.link.snr_db_low = (*range)[0].get<double>();
            c.link.snr_db_high = (*range)[1].get<double>();
        }
    }
    return c;
}

std::string shipped_model(const std::string& prefix, const std::string& name)
{
    const char* env = std::getenv("WIGENAI_MODELS");
    const std::string dir = (env && *env) ? env : WIGENAI_MODELS_DIR;
    return dir + "/" + prefix + "-" + name + ".onnx";
}

double check_snr_db(double snr_db)
{
    if (!std::isfinite(snr_db) || std::abs(snr_db) > 3000.0) {
        throw std::invalid_argument("snr_db: must be finite (|snr_db| <= 3000), got " +
                                    std::to_string(snr_db));
    }
    return snr_db;
}

int nearest_point(const std::vector<std::complex<double>>& points, double re, double im)
{
    int best = 0;
    double best_d = INFINITY;
    for (size_t m = 0; m < points.size(); ++m) {
        const double d = std::norm(std::complex<double>(re, im) - points[m]);
        if (d < best_d) {
            best_d = d;
            best = static_cast<int>(m);
        }
    }
    return best;
}

decision_cloud::decision_cloud(const std::vector<std::complex<double>>& points,
                               const std::vector<int>& labels,
                               size_t order,
                               size_t probe)
    : d_probe(std::min(probe, order))
    , d_clouds(order)
    , d_center(order, std::complex<double>(INFINITY, INFINITY))
    , d_radius(order, 0.0)
    , d_rank(order)
{
    std::vector<std::complex<double>> sum(order, 0.0);
    std::vector<size_t> count(order, 0);
    for (size_t k = 0; k < points.size(); ++k) {
        const auto m = static_cast<size_t>(labels[k]);
        d_clouds[m].push_back(points[k].real());
        d_clouds[m].push_back(points[k].imag());
        sum[m] += points[k];
        ++count[m];
    }
    for (size_t m = 0; m < order; ++m) {
        if (count[m] == 0) {
            continue;
        }
        d_center[m] = sum[m] / static_cast<double>(count[m]);
        for (size_t k = 0; k < count[m]; ++k) {
            const std::complex<double> p(d_clouds[m][2 * k], d_clouds[m][2 * k + 1]);
            d_radius[m] = std::max(d_radius[m], std::abs(p - d_center[m]));
        }
    }
}

double decision_cloud::search(size_t label, double re, double im) const
{
    double best = INFINITY;
    const auto& cloud = d_clouds[label];
    for (size_t k = 0; k < cloud.size(); k += 2) {
        const double dre = re - cloud[k];
        const double dim = im - cloud[k + 1];
        best = std::min(best, dre * dre + dim * dim);
    }
    return best;
}

int decision_cloud::decide(double re, double im) const
{
    const size_t order = d_clouds.size();
    const std::complex<double> x(re, im);
    for (size_t m = 0; m < order; ++m) {
        d_rank[m] = { std::abs(x - d_center[m]) - d_radius[m], static_cast<int>(m) };
    }
    const size_t ranked = std::min(d_probe + 1, order);
    std::partial_sort(d_rank.begin(), d_rank.begin() + ranked, d_rank.end());
    double best = INFINITY;
    int label = d_rank[0].second;
    for (size_t i = 0; i < d_probe; ++i) {
        const double d2 = search(static_cast<size_t>(d_rank[i].second), re, im);
        if (d2 < best) {
            best = d2;
            label = d_rank[i].second;
        }
    }
    if (d_probe < order && !(d_rank[d_probe].first > std::sqrt(best))) {
        best = INFINITY;
        for (size_t m = 0; m < order; ++m) {
            const double d2 = search(m, re, im);
            if (d2 < best) {
                best = d2;
                label = static_cast<int>(m);
            }
        }
    }
    return label;
}

double quantize(double value, int bits, double full_scale)
{
    if (bits == 0) {
        return value;
    }
    const double step = 2.0 * full_scale / static_cast<double>(1 << bits);
    const double top = full_scale - step / 2.0;
    return std::clamp(step * (std::floor(value / step) + 0.5), -top, top);
}

// ----- schedule -----------------------------------------------------------------------

schedule::schedule(const std::vector<double>& betas, double input_scale)
    : d_betas(betas)
    , d_input_scale(input_scale)
{
    double product = 1.0;
    for (double beta : d_betas) {
        product *= 1.0 - beta;
        d_alpha_bar.push_back(product);
        d_log_ratio.push_back(std::log(product) - std::log1p(-product));
    }
}

int schedule::start_step(double snr) const
{
    const double target =
        std::log(std::max(snr, 0.0) * d_input_scale * d_input_scale / 2.0);
    // log_ratio falls with t: search on the reversed (rising) sequence, as numpy's
    // searchsorted does in model_contract.start_step, ties to the lower position.
    std::vector<double> rising(d_log_ratio.rbegin(), d_log_ratio.rend());
    const int n = T();
    int pos = static_cast<int>(std::lower_bound(rising.begin(), rising.end(), target) -
                               rising.begin());
    pos = std::clamp(pos, 1, n - 1);
    const double left = rising[pos - 1];
    const double right = rising[pos];
    if (std::abs(target - left) <= std::abs(right - target)) {
        pos -= 1;
    }
    return n - 1 - pos;
}

std::vector<int> schedule::ddim_steps(int t_start, int steps, double spacing) const
{
    std::vector<int> out;
    if (steps > t_start) {
        for (int t = t_start; t >= 0; --t) {
            out.push_back(t);
        }
        return out;
    }
    std::set<int> grid;
    for (int k = 0; k < steps; ++k) {
        const double ramp =
            std::pow(1.0 - static_cast<double>(k) / static_cast<double>(steps), spacing);
        grid.insert(static_cast<int>(std::nearbyint(t_start * ramp)));
    }
    out.assign(grid.rbegin(), grid.rend());
    return out;
}

void schedule::ancestral(int t, double& a, double& b, double& sigma) const
{
    const double beta = d_betas[t];
    const double ab = d_alpha_bar[t];
    const double ab_prev = t > 0 ? d_alpha_bar[t - 1] : 1.0;
    sigma = std::sqrt(beta * (1.0 - ab_prev) / (1.0 - ab));
    a = 1.0 / std::sqrt(1.0 - beta);
    b = beta / std::sqrt(1.0 - ab);
}

double effective_snr(const training_link& link, double snr_db)
{
    const double n0 = std::pow(10.0, -snr_db / 10.0);
    const double distortion = link.kappa_t * link.kappa_t + link.kappa_r * link.kappa_r;
    double noise = n0;
    if (link.adc_bits > 0) {
        const double full_scale =
            link.adc_loading * std::sqrt((1.0 + distortion + n0) / 2.0);
        const double step = 2.0 * full_scale / static_cast<double>(1 << link.adc_bits);
        noise += 2.0 * step * step / 12.0;
    }
    return 1.0 / (noise + distortion);
}

// ----- the session --------------------------------------------------------------------

bool onnx_epsilon::cuda_available()
{
    for (const auto& name : Ort::GetAvailableProviders()) {
        if (name == "CUDAExecutionProvider") {
            return true;
        }
    }
    return false;
}

onnx_epsilon::onnx_epsilon(const std::string& path,
                           const std::string& kind,
                           int threads,
                           int batch_size,
                           const std::string& provider)
    : d_batch_size(batch_size)
{
    if (threads < 1) {
        throw std::invalid_argument("threads: expected an integer >= 1, got " +
                                    std::to_string(threads));
    }
    if (batch_size < 1) {
        throw std::invalid_argument("batch_size: expected an integer >= 1, got " +
                                    std::to_string(batch_size));
    }
    if (provider != "cpu" && provider != "cuda") {
        throw std::invalid_argument("provider: unknown '" + provider +
                                    "', expected 'cpu' or 'cuda'");
    }

    Ort::SessionOptions options;
    options.SetIntraOpNumThreads(threads);
    options.SetInterOpNumThreads(1);
    options.SetGraphOptimizationLevel(GraphOptimizationLevel::ORT_ENABLE_ALL);
    if (provider == "cuda") {
        if (!cuda_available()) {
            throw std::invalid_argument(
                "provider: 'cuda' asked for, but this onnxruntime has no "
                "CUDAExecutionProvider (install onnxruntime-gpu and rebuild)");
        }
        OrtCUDAProviderOptions cuda;
        options.AppendExecutionProvider_CUDA(cuda);
    }
    try {
        d_session = std::make_unique<Ort::Session>(environment(), path.c_str(), options);
    } catch (const Ort::Exception& err) {
        throw std::invalid_argument(path + ": onnxruntime cannot load the model (" +
                                    err.what() + ")");
    }

    Ort::AllocatorWithDefaultOptions allocator;
    Ort::ModelMetadata metadata = d_session->GetModelMetadata();
    auto text = metadata.LookupCustomMetadataMapAllocated(metadata_key, allocator);
    if (!text) {
        throw std::invalid_argument(path +
                                    ": no 'wigenai' contract in the ONNX metadata");
    }
    d_contract = parse_contract(text.get(), path, kind);

    std::set<std::string> inputs;
    for (size_t i = 0; i < d_session->GetInputCount(); ++i) {
        inputs.insert(d_session->GetInputNameAllocated(i, allocator).get());
    }
    if (inputs != std::set<std::string>{ "t", "x" }) {
        throw std::invalid_argument(path + ": graph inputs are not ['t', 'x']");
    }
    if (d_session->GetOutputCount() != 1 ||
        std::string(d_session->GetOutputNameAllocated(0, allocator).get()) != "eps") {
        throw std::invalid_argument(path + ": graph has no single output named 'eps'");
    }
    for (size_t i = 0; i < d_session->GetInputCount(); ++i) {
        if (std::string(d_session->GetInputNameAllocated(i, allocator).get()) != "x") {
            continue;
        }
        auto shape =
            d_session->GetInputTypeInfo(i).GetTensorTypeAndShapeInfo().GetShape();
        if (shape.size() != 2) {
            throw std::invalid_argument(path + ": input 'x' has rank " +
                                        std::to_string(shape.size()) + ", expected 2");
        }
        if (shape[1] > 0 && shape[1] != d_contract.input_width()) {
            field_error(path,
                        "variant",
                        "is '" + d_contract.variant + "' (" +
                            std::to_string(d_contract.input_width()) +
                            " inputs) but input 'x' has width " +
                            std::to_string(shape[1]));
        }
    }
    d_in.resize(static_cast<size_t>(batch_size) * d_contract.input_width());
    d_out.resize(static_cast<size_t>(batch_size) * 2);
}

onnx_epsilon::~onnx_epsilon() = default;

void onnx_epsilon::eps(const float* x, size_t n, int64_t t, double* out)
{
    static const char* const input_names[] = { "x", "t" };
    static const char* const output_names[] = { "eps" };
    const size_t width = d_contract.input_width();
    const auto memory = Ort::MemoryInfo::CreateCpu(OrtArenaAllocator, OrtMemTypeDefault);
    int64_t step = t;

    for (size_t lo = 0; lo < n; lo += d_batch_size) {
        const size_t rows = std::min<size_t>(d_batch_size, n - lo);
        const size_t shape_rows = padded_rows(rows, d_batch_size);
        std::copy(x + lo * width, x + (lo + rows) * width, d_in.begin());
        std::fill(d_in.begin() + rows * width, d_in.begin() + shape_rows * width, 0.0f);

        const int64_t in_shape[] = { static_cast<int64_t>(shape_rows),
                                     static_cast<int64_t>(width) };
        const int64_t out_shape[] = { static_cast<int64_t>(shape_rows), 2 };
        Ort::Value inputs[] = {
            Ort::Value::CreateTensor<float>(
                memory, d_in.data(), shape_rows * width, in_shape, 2),
            Ort::Value::CreateTensor<int64_t>(memory, &step, 1, nullptr, 0),
        };
        Ort::Value output = Ort::Value::CreateTensor<float>(
            memory, d_out.data(), shape_rows * 2, out_shape, 2);
        d_session->Run(
            Ort::RunOptions{ nullptr }, input_names, inputs, 2, output_names, &output, 1);
        for (size_t i = 0; i < rows * 2; ++i) {
            out[lo * 2 + i] = static_cast<double>(d_out[i]);
        }
    }
}

// ----- the chains ---------------------------------------------------------------------

void network_input(const std::vector<double>& x,
                   size_t n,
                   const double* cond,
                   std::vector<float>& out)
{
    const size_t width = cond ? 4 : 2;
    out.resize(n * width);
    for (size_t i = 0; i < n; ++i) {
        out[i * width] = static_cast<float>(x[2 * i]);
        out[i * width + 1] = static_cast<float>(x[2 * i + 1]);
        if (cond) {
            out[i * width + 2] = static_cast<float>(cond[2 * i]);
            out[i * width + 3] = static_cast<float>(cond[2 * i + 1]);
        }
    }
}

void ddim_chain(onnx_epsilon& net,
                const schedule& sched,
                std::vector<double>& x,
                size_t n,
                int t_start,
                int steps,
                const double* cond)
{
    const auto seq = sched.ddim_steps(t_start, steps, ddim_spacing);
    std::vector<float> input;
    std::vector<double> eps(2 * n);
    for (size_t i = 0; i < seq.size(); ++i) {
        network_input(x, n, cond, input);
        net.eps(input.data(), n, seq[i], eps.data());
        const double ab_t = sched.alpha_bar(seq[i]);
        const double ab_next = i + 1 < seq.size() ? sched.alpha_bar(seq[i + 1]) : 1.0;
        const double s_t = std::sqrt(1.0 - ab_t);
        const double r_t = std::sqrt(ab_t);
        const double s_next = std::sqrt(1.0 - ab_next);
        const double r_next = std::sqrt(ab_next);
        for (size_t k = 0; k < 2 * n; ++k) {
            const double x0 = (x[k] - s_t * eps[k]) / r_t;
            x[k] = r_next * x0 + s_next * eps[k];
        }
    }
}

} // namespace detail
} // namespace wigenai
} // namespace gr
