"""Named structured links: every preset's values and the reasons for them, in one place.

A preset is a flat dict of JSON-serialisable parameters (:data:`DEFAULTS` lists every
key and its "off" value); :func:`preset` builds the
:class:`~wigenai.impairments.StructuredLink` in the physical order documented in
:mod:`wigenai.impairments`::

    DAC -> kappa_t -> transmit IQ -> PA -> phase noise -> carrier offset
        -> receive IQ -> DC offset -> kappa_r -> noise -> ADC

(the PA commutes with the phase rotation, so the transmit LO's phase noise can be
lumped with the receive LO's after it). :func:`describe` gives the same values with the
preset's summary, for model contracts and JSON records.

Presets (see each function's docstring for the justification):

``paper``
    The case-study link of :mod:`wigenai.channel`: QPSK, kappa 0.1, 4-bit DAC and ADC.
``pluto-like``
    16-QAM through a small SDR front end: Rapp PA at 1 dB input back-off,
    1 dB / 5 degree IQ imbalance, 3 degree rms tracked Wiener phase noise, a small DC
    offset, 8-bit ADC.
``harsh``
    Phase-noise dominated 16-QAM: Saleh PA at 6 dB input back-off, 1.5 dB / 8 degree
    receive and 1 dB / 5 degree transmit IQ imbalance, 10 degree rms i.i.d. jitter on a
    slow tracked drift, DC offset, an 8-bit ADC with an offset error.
"""

from __future__ import annotations

import logging
import math

from .constellation import Constellation, order_of
from .impairments import (
    CarrierOffset,
    DCOffset,
    GaussianDistortion,
    IQImbalance,
    NonUniformQuantizer,
    PhaseNoise,
    RappPA,
    SalehPA,
    StructuredLink,
    UniformQuantizer,
)

log = logging.getLogger(__name__)

PA_MODELS = ("none", "rapp", "saleh")
ADC_MODELS = ("none", "uniform", "mu-law")

#: Every preset key with its "stage off" value.
DEFAULTS: dict = {
    "modulation": "qpsk",
    "dac_bits": 0,
    "dac_full_scale": 1.0,
    "kappa_t": 0.0,
    "tx_iq_amplitude_db": 0.0,
    "tx_iq_phase_deg": 0.0,
    "pa": "none",
    "pa_backoff_db": 1.0,
    "rapp_smoothness": 2.0,
    "rapp_a_sat": 1.0,
    "saleh_alpha_a": 2.1587,
    "saleh_beta_a": 1.1517,
    "saleh_alpha_phi": 4.0033,
    "saleh_beta_phi": 9.1040,
    "phase_increment_var": 0.0,
    "phase_tracked": True,
    "phase_jitter_deg": 0.0,
    "phase_static_deg": 0.0,
    "cfo_cycles_per_symbol": 0.0,
    "rx_iq_amplitude_db": 0.0,
    "rx_iq_phase_deg": 0.0,
    "dc_offset_i": 0.0,
    "dc_offset_q": 0.0,
    "kappa_r": 0.0,
    "noise": "awgn",
    "adc": "none",
    "adc_bits": 0,
    "adc_loading": 3.0,
    "adc_offset_lsb_i": 0.0,
    "adc_offset_lsb_q": 0.0,
    "adc_mu": 255.0,
    "adc_full_scale": 1.0,
}


def _paper() -> dict:
    """The case-study link of :mod:`wigenai.channel` (the paper's case study 1).

    QPSK, 4-bit uniform DAC on full scale 1, Bjornson distortion kappa_t = kappa_r =
    0.1, AWGN, 4-bit ADC with the AGC at 3 times the rms. Built from stages it is the
    same law as ``ImpairedChannel(LinkParams(snr_db, 0.1, 0.1, 4, 4))``, draw for draw
    with the same seed. Its MAP detector is per-dimension slicing, so nearest
    neighbour already is MAP: the reference point, not a challenge.
    """
    return {
        "modulation": "qpsk",
        "dac_bits": 4,
        "kappa_t": 0.1,
        "kappa_r": 0.1,
        "adc": "uniform",
        "adc_bits": 4,
        "adc_loading": 3.0,
    }


def _pluto_like() -> dict:
    """16-QAM through a small direct-conversion SDR (an ADALM-Pluto class front end).

    - Rapp PA, smoothness 2 (a solid-state amplifier), at 1 dB input back-off: the
      outer points are clearly compressed, as when a cheap front end is driven for
      output power.
    - Receive IQ imbalance 1 dB / 5 degrees: an uncalibrated zero-IF demodulator.
    - Wiener phase noise with a 3 degree rms per-symbol increment, tracked: a modest
      LO whose drift the carrier loop follows, leaving the one-step increment
      (REFERENCE.md measured 3 degrees of jitter as the regime where the pilot
      baseline still closes almost all of the gap to MAP).
    - DC offset 0.01 - 0.005j (about -39 dBc): residual LO leakage.
    - 8-bit uniform ADC, AGC at 3 times the rms (a 12-bit converter with a few bits
      lost to headroom and gain steps).
    """
    return {
        "modulation": "16qam",
        "pa": "rapp",
        "pa_backoff_db": 1.0,
        "rapp_smoothness": 2.0,
        "rx_iq_amplitude_db": 1.0,
        "rx_iq_phase_deg": 5.0,
        "phase_increment_var": math.radians(3.0) ** 2,
        "phase_tracked": True,
        "dc_offset_i": 0.01,
        "dc_offset_q": -0.005,
        "adc": "uniform",
        "adc_bits": 8,
        "adc_loading": 3.0,
    }


def _harsh() -> dict:
    """Phase-noise dominated 16-QAM: where a Gaussian-cluster receiver falls behind.

    - Saleh travelling-wave-tube PA with the classic coefficients at 6 dB input
      back-off: the corner-to-edge amplitude ratio shrinks from 1.34 to 1.15 and the
      AM/PM turns the inner ring by 7 degrees, the outer ones by 17 and 20. (At 3 dB
      the corner and edge rings nearly merge and every receiver, MAP included, floors
      at a few percent, which hides the effect of the phase noise.)
    - Transmit IQ imbalance 1 dB / 5 degrees and receive IQ imbalance 1.5 dB /
      8 degrees: both ends uncalibrated, the receive one shearing the phase arcs.
    - Phase: a slow Wiener drift (1 degree rms per symbol) tracked by the carrier loop,
      plus 10 degrees rms of i.i.d. jitter that no loop can follow (a noisy LO whose
      phase noise lies above the loop bandwidth). The genie knows the drift up to the
      previous symbol and integrates over the rest, about 10.05 degrees rms.
    - DC offset 0.02 - 0.015j and an 8-bit ADC (AGC at 3 times the rms) with an offset
      error of +0.3 / -0.2 LSB on I / Q. (A 6-bit ADC adds quantization noise
      comparable to the thermal noise at 30 dB and lowers MAP's advantage.)

    The clusters become curved, sheared arcs. A centroid-and-covariance receiver
    treats them as ellipses and its error rate floors near 2.3e-2 from 30 dB on while
    MAP's keeps falling (measured, 100,000 symbols: centroid over MAP SER 1.05 at
    20 dB, 1.23 at 25, 1.74 at 30, 2.2 at 32, 3.8 at 35 dB); that gap is what the
    preset is for.
    """
    return {
        "modulation": "16qam",
        "tx_iq_amplitude_db": 1.0,
        "tx_iq_phase_deg": 5.0,
        "pa": "saleh",
        "pa_backoff_db": 6.0,
        "phase_increment_var": math.radians(1.0) ** 2,
        "phase_tracked": True,
        "phase_jitter_deg": 10.0,
        "rx_iq_amplitude_db": 1.5,
        "rx_iq_phase_deg": 8.0,
        "dc_offset_i": 0.02,
        "dc_offset_q": -0.015,
        "adc": "uniform",
        "adc_bits": 8,
        "adc_loading": 3.0,
        "adc_offset_lsb_i": 0.3,
        "adc_offset_lsb_q": -0.2,
    }


_REGISTRY = {"paper": _paper, "pluto-like": _pluto_like, "harsh": _harsh}

#: Names of the presets.
PRESETS = tuple(_REGISTRY)


def _lookup(name: str):
    try:
        return _REGISTRY[str(name).lower()]
    except KeyError:
        raise ValueError(
            f"link: unknown preset {name!r}, expected one of {list(PRESETS)}"
        ) from None


def spec(name: str, **overrides) -> dict:
    """The full parameter dict of preset ``name`` with ``overrides`` applied.

    Raises
    ------
    ValueError
        Unknown preset (naming ``link``) or an override that is not a preset key.
    """
    values = dict(DEFAULTS)
    values.update(_lookup(name)())
    for key, value in overrides.items():
        if key not in DEFAULTS:
            raise ValueError(
                f"{key}: not a preset parameter, expected one of {sorted(DEFAULTS)}"
            )
        values[key] = value
    return values


def _summary(name: str) -> str:
    doc = _lookup(name).__doc__ or ""
    return doc.strip().split("\n\n")[0].replace("\n", " ")


def describe(name: str, **overrides) -> dict:
    """JSON-serialisable description of a preset: name, summary, parameters, stages.

    Parameters
    ----------
    name : str
        One of :data:`PRESETS`.
    **overrides
        Preset keys to change (see :data:`DEFAULTS`).

    Returns
    -------
    dict
        ``{"link": name, "summary": str, "params": {...}, "stages": [...]}``; the
        stages are those :func:`preset` builds (names and parameters in order, noise
        and ADC last).
    """
    values = spec(name, **overrides)
    link = build(values, snr_db=0.0)
    stages = link.describe()
    for s in stages:
        s.pop("snr_db", None)
    return {
        "link": str(name).lower(),
        "summary": _summary(name),
        "params": values,
        "stages": stages,
    }


def constellation(name: str, **overrides) -> Constellation:
    """The constellation a preset sends."""
    return Constellation(order_of(spec(name, **overrides)["modulation"]))


def _choice(value, options, name):
    if value not in options:
        raise ValueError(f"{name}: expected one of {options}, got {value!r}")
    return value


def _renamed(err: ValueError, prefix: str) -> ValueError:
    """A stage's error renamed to the preset key: ``phase_deg: ...`` of the receive
    IQ stage becomes ``rx_iq_phase_deg: ...``."""
    text = str(err)
    name, sep, rest = text.partition(":")
    if not sep:
        return err
    for key in (prefix + name, name):
        if key in DEFAULTS:
            return ValueError(f"{key}:{rest}")
    # Stage parameters whose preset key is not prefix + name.
    aliases = {
        "backoff_db": "pa_backoff_db",
        "kappa": "kappa_" + prefix,
        "offset": "dc_offset_i / dc_offset_q",
    }
    if name in aliases:
        return ValueError(f"{aliases[name]}:{rest}")
    return err


def _stage(ctor, prefix: str, *args, **kwargs):
    """``ctor(*args, **kwargs)`` with its errors named by preset keys."""
    try:
        return ctor(*args, **kwargs)
    except ValueError as err:
        raise _renamed(err, prefix) from None


def build(values: dict, snr_db: float, seed=None) -> StructuredLink:
    """Build the link of a full parameter dict (see :data:`DEFAULTS`).

    Parameters
    ----------
    values : dict
        Every key of :data:`DEFAULTS` (as :func:`spec` returns).
    snr_db : float
        Es/N0 per complex symbol, dB.
    seed : int, sequence of int or None
        Seed of the link's generator.
    """
    v = values
    const = Constellation(order_of(v["modulation"]))
    stages = []
    if v["dac_bits"]:
        stages.append(
            _stage(UniformQuantizer, "dac_", v["dac_bits"], v["dac_full_scale"])
        )
    if v["kappa_t"]:
        stages.append(_stage(GaussianDistortion, "t", v["kappa_t"], "tx"))
    if v["tx_iq_amplitude_db"] or v["tx_iq_phase_deg"]:
        stages.append(
            _stage(
                IQImbalance,
                "tx_iq_",
                v["tx_iq_amplitude_db"],
                v["tx_iq_phase_deg"],
                "tx",
            )
        )
    pa = _choice(v["pa"], PA_MODELS, "pa")
    if pa == "rapp":
        stages.append(
            _stage(
                RappPA, "rapp_", v["pa_backoff_db"], v["rapp_smoothness"], v["rapp_a_sat"]
            )
        )
    elif pa == "saleh":
        stages.append(
            _stage(
                SalehPA,
                "saleh_",
                v["pa_backoff_db"],
                v["saleh_alpha_a"],
                v["saleh_beta_a"],
                v["saleh_alpha_phi"],
                v["saleh_beta_phi"],
            )
        )
    if v["phase_increment_var"] or v["phase_jitter_deg"] or v["phase_static_deg"]:
        stages.append(
            _stage(
                PhaseNoise,
                "phase_",
                v["phase_increment_var"],
                v["phase_jitter_deg"],
                v["phase_static_deg"],
                v["phase_tracked"],
            )
        )
    if v["cfo_cycles_per_symbol"]:
        stages.append(_stage(CarrierOffset, "cfo_", v["cfo_cycles_per_symbol"]))
    if v["rx_iq_amplitude_db"] or v["rx_iq_phase_deg"]:
        stages.append(
            _stage(
                IQImbalance,
                "rx_iq_",
                v["rx_iq_amplitude_db"],
                v["rx_iq_phase_deg"],
                "rx",
            )
        )
    if v["dc_offset_i"] or v["dc_offset_q"]:
        stages.append(
            _stage(DCOffset, "dc_", complex(v["dc_offset_i"], v["dc_offset_q"]))
        )
    if v["kappa_r"]:
        stages.append(_stage(GaussianDistortion, "r", v["kappa_r"], "rx"))
    adc_model = _choice(v["adc"], ADC_MODELS, "adc")
    adc = None
    if adc_model == "uniform":
        adc = _stage(
            UniformQuantizer,
            "adc_",
            v["adc_bits"],
            v["adc_full_scale"],
            v["adc_offset_lsb_i"],
            v["adc_offset_lsb_q"],
            loading=v["adc_loading"],
        )
    elif adc_model == "mu-law":
        adc = _stage(
            NonUniformQuantizer.mu_law,
            "adc_",
            v["adc_bits"],
            v["adc_full_scale"],
            v["adc_mu"],
        )
    try:
        return StructuredLink(
            stages, snr_db, points=const.points, noise=v["noise"], adc=adc, seed=seed
        )
    except ValueError as err:
        raise _renamed(err, "pa_") from None


def preset(name: str, snr_db: float, seed=None, **overrides) -> StructuredLink:
    """The structured link of preset ``name`` at ``snr_db``.

    Parameters
    ----------
    name : str
        One of :data:`PRESETS` (``paper``, ``pluto-like``, ``harsh``).
    snr_db : float
        Es/N0 per complex symbol, dB.
    seed : int, sequence of int or None
        Seed of the link's generator.
    **overrides
        Preset keys to change, e.g. ``modulation="64qam"``, ``noise="laplace"``,
        ``pa_backoff_db=3.0`` (see :data:`DEFAULTS`).

    Raises
    ------
    ValueError
        Unknown preset (the message names ``link`` and lists the presets), unknown
        override key, or a value a stage rejects (the message names that parameter).
    """
    values = spec(name, **overrides)
    log.debug("preset %s at %s dB: %s", name, snr_db, overrides)
    return build(values, snr_db, seed)


def trained_for(training_link: dict) -> tuple[str, dict]:
    """``(preset, overrides)`` a model was trained for, from its contract's
    ``training_link`` (or an autoencoder's ``link``); ``("paper", {})`` for the
    case-study link of :mod:`wigenai.channel`."""
    link = training_link or {}
    return str(link.get("preset", "paper")).lower(), dict(link.get("overrides") or {})


def mismatch(training_link: dict, name: str, overrides: dict | None = None) -> str:
    """Why a model trained on ``training_link`` does not match preset ``name`` with
    ``overrides``: ``""`` when it matches, else one sentence that says which preset
    (and which changed parameters) the model was trained for."""
    model_name, model_over = trained_for(training_link)
    name = str(name).lower()
    if model_name != name:
        return (
            f"the model was trained for link preset {model_name!r}"
            + (f" (with {model_over})" if model_over else "")
            + f", it is used with {name!r}"
        )
    if model_name == "paper":
        return ""
    trained = spec(model_name, **model_over)
    used = spec(name, **(overrides or {}))
    changed = {k: (trained[k], used[k]) for k in DEFAULTS if trained[k] != used[k]}
    if not changed:
        return ""
    text = ", ".join(f"{k} {a!r} -> {b!r}" for k, (a, b) in sorted(changed.items()))
    return f"the model was trained for link preset {name!r}; changed here: {text}"
