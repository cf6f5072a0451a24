/* -*- c++ -*- */
/*
 * Copyright 2025 The WiGenAI authors.
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#ifndef INCLUDED_WIGENAI_DDPM_DENOISER_CC_H
#define INCLUDED_WIGENAI_DDPM_DENOISER_CC_H

#include <cstdint>
#include <gnuradio/sync_block.h>
#include <gnuradio/wigenai/api.h>
#include <string>

namespace gr {
namespace wigenai {

/*!
 * \brief DDPM receiver (case study 1) on ONNX Runtime's C++ API: the C++ twin of the
 * Python block gnuradio.wigenai.ddpm_denoiser, with the same models and results.
 * \ingroup wigenai
 *
 * \details
 * Input: complex symbols, one per item, at unit average power, after synchronization
 * and equalization (the link the model was trained for). Output 0: the denoised symbols
 * (the reverse chain's estimate of x0). Output 1, when \p decisions is true: bytes, the
 * index of the nearest transmitted (DAC-quantized) constellation point, whose binary
 * digits are its Gray bit label.
 *
 * Each received sample y is scaled to the model's units and by sqrt(abar(t*)) where t*
 * is the diffusion step whose noise level matches the link's effective SNR (Es/N0 of
 * \p snr_db plus the distortion and receive quantization of the model's training link),
 * each real entry clipped to +-20, and the reverse chain runs from t* to the clean
 * estimate: deterministic DDIM with \p steps network calls ("ddim"), or ancestral
 * sampling ("ddpm", t* + 1 calls per run) with \p runs runs combined by the mean of
 * their estimates ("mean") or a majority vote of their decisions ("vote").
 *
 * Measured SNR from stream tags: an "esn0_db" tag (pmt double, the Es/N0 in dB
 * measured on a burst's known symbols, as burst_sync puts on each burst's first data
 * symbol) switches the block to that SNR from the tagged item on: t* becomes the step
 * matched to the measured Es/N0 itself, start_step(10^(esn0_db/10)), without the
 * training link's distortion and quantization added on top (they are already in the
 * measurement), until the next tag. set_snr_db() returns to the configured link SNR.
 * A work() call is cut at the tags. A tag that is not a finite number is ignored
 * (logged once); +inf (a noiseless fit) starts at step 0. As a sync block it passes
 * every tag on to its outputs, item for item, so burst_decoder still finds the bursts.
 *
 * The model file's contract (ONNX metadata "wigenai": kind, variant, betas,
 * constellation, input scale, training link) is checked at construction. All items of
 * a work() call go through one ONNX Runtime session in batches of \p batch_size rows;
 * a shorter tail is padded to the next power of two (64 at least), so the session sees
 * a few fixed shapes. Settings change under the block's lock.
 *
 * Non-finite input samples are replaced by 0, counted and logged once. An inference
 * failure is logged once and ends the flowgraph (WORK_DONE) instead of throwing through
 * the scheduler. Invalid parameters throw std::invalid_argument (ValueError in Python)
 * naming the parameter or the model file and contract field.
 */
class WIGENAI_API ddpm_denoiser_cc : virtual public gr::sync_block
{
public:
    typedef std::shared_ptr<ddpm_denoiser_cc> sptr;

    /*!
     * \brief Make a DDPM denoiser block.
     *
     * \param modulation "qpsk", "16qam" or "64qam"; picks the shipped model when
     *        \p model_file is empty and must match the model's constellation.
     * \param model_file ONNX denoiser written by `wigenai train denoiser`; "" for the
     *        shipped model of \p modulation ($WIGENAI_MODELS, else the install's
     *        share/gr-wigenai/models).
     * \param snr_db Link Es/N0 in dB; sets the start step until an "esn0_db" tag
     *        arrives. Finite.
     * \param sampler "ddim" (deterministic) or "ddpm" (ancestral).
     * \param steps DDIM network calls per symbol, 1..T.
     * \param runs Ancestral runs per symbol (ddpm only), >= 1.
     * \param combine "mean" or "vote": how ancestral runs combine.
     * \param batch_size Rows per network call, >= 1.
     * \param threads ONNX Runtime intra-op threads, >= 1.
     * \param decisions Add the byte output of hard decisions.
     * \param provider "cpu" or "cuda" (onnxruntime's CUDA execution provider).
     * \param seed Seed of the ancestral sampler's noise.
     * \param link The link preset the block is used on ("paper", "pluto-like",
     *        "harsh"; "" = not stated). A model trained for another preset (contract
     *        field training_link.preset, "paper" when absent) still runs, with one
     *        warning naming the preset it was trained for.
     */
    static sptr make(const std::string& modulation = "qpsk",
                     const std::string& model_file = "",
                     double snr_db = -5.0,
                     const std::string& sampler = "ddim",
                     int steps = 2,
                     int runs = 1,
                     const std::string& combine = "mean",
                     int batch_size = 8192,
                     int threads = 2,
                     bool decisions = false,
                     const std::string& provider = "cpu",
                     uint64_t seed = 0,
                     const std::string& link = "");

    //! \brief Set the link Es/N0 in dB (finite); the start step follows, and the
    //! block leaves the measured-SNR (esn0_db tag) mode.
    virtual void set_snr_db(double snr_db) = 0;
    //! \brief The configured link Es/N0 in dB.
    virtual double snr_db() const = 0;
    //! \brief Es/N0 in dB of the last esn0_db tag followed; NaN in the
    //! configured-SNR mode.
    virtual double esn0_db() const = 0;
    //! \brief Set the sampler, "ddim" or "ddpm".
    virtual void set_sampler(const std::string& sampler) = 0;
    //! \brief The sampler.
    virtual std::string sampler() const = 0;
    //! \brief Set the DDIM network calls per symbol, 1..T.
    virtual void set_steps(int steps) = 0;
    //! \brief DDIM network calls per symbol.
    virtual int steps() const = 0;
    //! \brief Set the ancestral runs per symbol, >= 1.
    virtual void set_runs(int runs) = 0;
    //! \brief Ancestral runs per symbol.
    virtual int runs() const = 0;
    //! \brief Set how runs combine, "mean" or "vote".
    virtual void set_combine(const std::string& combine) = 0;
    //! \brief How runs combine.
    virtual std::string combine() const = 0;

    //! \brief Start step of the reverse chain now (configured SNR or last tag).
    virtual int start_step() const = 0;
    //! \brief Network evaluations per symbol at the current settings.
    virtual int calls_per_symbol() const = 0;
    //! \brief The model file in use.
    virtual std::string model_file() const = 0;
    //! \brief The execution provider in use, "cpu" or "cuda".
    virtual std::string provider() const = 0;
    //! \brief Number of non-finite input samples replaced by 0 so far.
    virtual uint64_t nonfinite_count() const = 0;
    //! \brief Number of non-finite model estimates replaced by 0 so far.
    virtual uint64_t nonfinite_output_count() const = 0;

    //! \brief Whether this onnxruntime offers the CUDA execution provider.
    static bool cuda_available();
};

} // namespace wigenai
} // namespace gr

#endif /* INCLUDED_WIGENAI_DDPM_DENOISER_CC_H */
