/* -*- c++ -*- */
/*
 * Copyright 2025 The WiGenAI authors.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

// Internal to libgnuradio-wigenai: what the C++ blocks need of a gr-wigenai ONNX model.
// The same contract, schedule arithmetic and reverse chains as the Python library
// (wigenai.model_contract and wigenai.ort_sampler); qa_ddpm_denoiser_cc.py proves the
// two agree on the same inputs.

#ifndef INCLUDED_WIGENAI_DDPM_MODEL_H
#define INCLUDED_WIGENAI_DDPM_MODEL_H

#include <complex>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace Ort {
struct Session;
struct Env;
} // namespace Ort

namespace gr {
namespace wigenai {
namespace detail {

//! The hardware link a model was trained on (contract field training_link).
struct training_link {
    double kappa_t = 0.0;
    double kappa_r = 0.0;
    int quant_bits = 0;
    int adc_bits = 0;
    double dac_full_scale = 1.0;
    double adc_loading = 3.0;
    double snr_db_low = -1e300;
    double snr_db_high = 1e300;
};

//! The parsed, validated contract stored under the ONNX metadata key "wigenai".
struct contract {
    std::string path;
    std::string kind;
    std::string variant;
    std::vector<double> betas;
    std::vector<std::complex<double>> points;
    double input_scale = 1.4142135623730951;
    training_link link;
    //! The link preset the model was trained for (training_link.preset; "paper").
    std::string preset = "paper";
    //! Where the receiver's chain starts: "matched" or "prior" (contract field start).
    std::string start = "matched";
    //! Optional decision cloud (contract field decision): an estimate's symbol is the
    //! label of the nearest of these points; empty: the nearest constellation point.
    std::vector<std::complex<double>> decision_points;
    std::vector<int> decision_labels;

    int input_width() const { return variant == "conditional" ? 4 : 2; }
};

//! Parse the contract JSON of the model at path; throws std::invalid_argument naming
//! the file and the field. kind: the kind the caller needs ("" accepts any).
contract parse_contract(const std::string& json_text,
                        const std::string& path,
                        const std::string& kind);

//! Uniform mid-rise quantizer of one real value (bits = 0: unchanged); as
//! wigenai.channel.quantize.
double quantize(double value, int bits, double full_scale);

//! The diffusion schedule derived from the betas, as wigenai.model_contract.
class schedule
{
public:
    schedule(const std::vector<double>& betas, double input_scale);

    int T() const { return static_cast<int>(d_betas.size()); }
    double alpha_bar(int t) const { return d_alpha_bar[t]; }
    double input_scale() const { return d_input_scale; }

    //! Step whose abar/(1-abar) is nearest in log to 2 snr / input_scale^2.
    int start_step(double snr) const;
    //! Descending DDIM call steps, round(t_start (1 - k/steps)^spacing), merged.
    std::vector<int> ddim_steps(int t_start, int steps, double spacing) const;
    //! Coefficients (a, b, sigma) of x_{t-1} = a (x_t - b eps) + sigma z.
    void ancestral(int t, double& a, double& b, double& sigma) const;

private:
    std::vector<double> d_betas;
    std::vector<double> d_alpha_bar;
    std::vector<double> d_log_ratio;
    double d_input_scale;
};

//! Es/N0 (ratio) the receiver sees on the training link at snr_db: thermal noise,
//! the receive quantizer's error and Bjornson's distortion (effective_snr in Python).
double effective_snr(const training_link& link, double snr_db);

//! The shipped model "<prefix>-<name>.onnx": in $WIGENAI_MODELS, else in the install's
//! share/gr-wigenai/models (wigenai.paths.models_dir does the same for Python).
std::string shipped_model(const std::string& prefix, const std::string& name);

//! snr_db if it is finite and |snr_db| <= 3000 (as wigenai.channel.check_snr_db);
//! else std::invalid_argument naming snr_db.
double check_snr_db(double snr_db);

//! Index of the point nearest to (re, im), the first on ties (numpy's argmin).
int nearest_point(const std::vector<std::complex<double>>& points, double re, double im);

//! Label of the nearest point of a labelled cloud (contract field decision), exactly,
//! as wigenai.ort_sampler.DecisionCloud: the clouds of the `probe` labels with the
//! lowest bound |x - center| - radius are searched, every label only where the next
//! bound is not above the best distance found.
class decision_cloud
{
public:
    decision_cloud() = default;
    decision_cloud(const std::vector<std::complex<double>>& points,
                   const std::vector<int>& labels,
                   size_t order,
                   size_t probe = 4);

    bool empty() const { return d_clouds.empty(); }
    int decide(double re, double im) const;

private:
    double search(size_t label, double re, double im) const;

    size_t d_probe = 0;
    std::vector<std::vector<double>> d_clouds; // per label: re, im, re, im, ...
    std::vector<std::complex<double>> d_center;
    std::vector<double> d_radius;
    mutable std::vector<std::pair<double, int>> d_rank;
};

//! Bound on each real entry of a chain's start state (model_contract.START_CLIP).
constexpr double start_clip = 20.0;
//! Exponent of the DDIM step grid (model_contract.DDIM_SPACING).
constexpr double ddim_spacing = 0.6;

//! One ONNX Runtime session of an epsilon network, with its contract.
class onnx_epsilon
{
public:
    //! Opens path, checks its contract (kind) and graph; provider "cpu" or "cuda".
    onnx_epsilon(const std::string& path,
                 const std::string& kind,
                 int threads,
                 int batch_size,
                 const std::string& provider);
    ~onnx_epsilon();

    const contract& model() const { return d_contract; }
    int batch_size() const { return d_batch_size; }

    //! eps (n x 2, row-major, double) of n rows of x (n x width, float) at step t.
    //! Full batches of batch_size rows; a shorter tail is padded with zero rows up to
    //! the next power of two (at least 64, at most batch_size), so the session only
    //! ever sees a few fixed shapes.
    void eps(const float* x, size_t n, int64_t t, double* out);

    //! Whether onnxruntime was built with the CUDA execution provider.
    static bool cuda_available();

private:
    contract d_contract;
    int d_batch_size;
    std::unique_ptr<Ort::Session> d_session;
    std::vector<float> d_in;
    std::vector<float> d_out;
};

//! Deterministic DDIM from the (n, 2) start state x at t_start, in place (network
//! units), as wigenai.ort_sampler.ddim_chain. cond: the (n, 2) conditioning sample of a
//! conditional model, or nullptr.
void ddim_chain(onnx_epsilon& net,
                const schedule& sched,
                std::vector<double>& x,
                size_t n,
                int t_start,
                int steps,
                const double* cond);

//! Ancestral DDPM from x at t_start, in place, as wigenai.ort_sampler.ddpm_chain;
//! normal() gives the standard normal draws injected when leaving a step t > 0.
template <typename Normal>
void ddpm_chain(onnx_epsilon& net,
                const schedule& sched,
                std::vector<double>& x,
                size_t n,
                int t_start,
                const double* cond,
                Normal&& normal);

//! The network input rows for state x (and cond) of n rows, as float.
void network_input(const std::vector<double>& x,
                   size_t n,
                   const double* cond,
                   std::vector<float>& out);

template <typename Normal>
void ddpm_chain(onnx_epsilon& net,
                const schedule& sched,
                std::vector<double>& x,
                size_t n,
                int t_start,
                const double* cond,
                Normal&& normal)
{
    std::vector<float> input;
    std::vector<double> eps(2 * n);
    for (int t = t_start; t >= 0; --t) {
        network_input(x, n, cond, input);
        net.eps(input.data(), n, t, eps.data());
        double a, b, sigma;
        sched.ancestral(t, a, b, sigma);
        for (size_t k = 0; k < 2 * n; ++k) {
            x[k] = a * (x[k] - b * eps[k]);
            if (t > 0) {
                x[k] += sigma * normal();
            }
        }
    }
}

} // namespace detail
} // namespace wigenai
} // namespace gr

#endif /* INCLUDED_WIGENAI_DDPM_MODEL_H */
