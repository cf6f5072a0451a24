"""Structured transceiver impairments: composable stages and the link they make.

A :class:`StructuredLink` applies a list of impairment stages to unit-average-energy
symbols in the order they are declared, then adds thermal noise, then (optionally)
quantizes with a receive ADC::

    x -> stage_1 -> ... -> stage_S -> + n -> ADC -> y

Every stage is a small validated dataclass with ``apply(x, rng) -> y`` on complex128
arrays. The stages and their formulas (``r = |x|``, ``x = x_I + j x_Q``):

``RappPA``
    Solid-state amplifier, AM/AM only: ``F(r) = r / (1 + (r / A_sat)^(2p))^(1/(2p))``,
    smoothness ``p``, saturation amplitude ``A_sat`` (unit small-signal gain).
``SalehPA``
    Travelling-wave tube: ``F(r) = alpha_a r / (1 + beta_a r^2)`` and
    ``Phi(r) = alpha_phi r^2 / (1 + beta_phi r^2)``; its saturation amplitude is
    ``A_sat = 1 / sqrt(beta_a)``, the input at which ``F`` peaks.
    Both amplifiers are driven at an input back-off: the input is scaled by a fixed
    gain so that the rms of the nominal constellation (as it arrives at the amplifier)
    is ``backoff_db`` below ``A_sat``, and the output is scaled back to unit average
    power by a second fixed gain computed once from that nominal constellation, never
    per block, so that compression shows as a shrinking of the outer points.
``IQImbalance``
    Gain ``g = 10^(amplitude_db / 20)`` and skew ``phi`` on the Q branch. Transmit
    (modulator)::  y_I = x_I - g sin(phi) x_Q,   y_Q = g cos(phi) x_Q
    Receive (demodulator)::  y_I = x_I,   y_Q = g (cos(phi) x_Q - sin(phi) x_I)
    i.e. ``y = mu x + nu conj(x)`` with ``mu = (1 + g e^{+j phi}) / 2``,
    ``nu = (1 - g e^{+j phi}) / 2`` (transmit) and ``mu = (1 + g e^{-j phi}) / 2``,
    ``nu = (1 - g e^{+j phi}) / 2`` (receive).
``PhaseNoise``
    ``y_n = x_n exp(j theta_n)`` with ``theta_n = static + W_n + J_n``: a Wiener walk
    ``W_n = W_(n-1) + D_n``, ``D_n ~ N(0, increment_var)`` (rad^2), plus i.i.d.
    jitter ``J_n ~ N(0, jitter_deg^2)``. With ``tracked`` (the default) the receiver's
    carrier recovery is assumed to follow the walk ideally up to the last symbol, so
    what is left is ``static + D_n + J_n``: the walk's one-step increment.
``CarrierOffset``
    Residual carrier frequency offset: ``y_n = x_n exp(j 2 pi f n)``, ``f`` in cycles
    per symbol, ``n`` counting on across calls.
``DCOffset``
    ``y = x + d`` (complex ``d``).
``GaussianDistortion``
    Bjornson's aggregate transceiver distortion: ``y = x + eta``,
    ``eta ~ CN(0, kappa^2)`` (the signal power is 1).
``UniformQuantizer``
    :func:`wigenai.channel.quantize` on ``x + offset`` per I and Q: mid-rise,
    ``2^bits`` levels over ``[-A, A]``, the input offset (``offset_lsb_*`` steps) making
    the thresholds asymmetric; ``loading`` turns on the receive AGC of channel.py.
``NonUniformQuantizer``
    Explicit thresholds and output levels per I and Q (``mu_law`` builds a companded
    one): ``y = levels[k]`` for the input in ``[edges[k-1], edges[k])``.

Thermal noise ``n`` has variance ``N0 = 10^(-snr_db / 10)`` per complex symbol (Es/N0
per complex symbol with Es = 1, as in channel.py): circular Gaussian (``awgn``) or
independent Laplacian on I and Q of the same variance (``laplace``).

Order. Noise is added after every declared stage and before the receive ADC. Physically
thermal noise enters at the low-noise amplifier, ahead of the demodulator, so the
receive IQ imbalance and the receive LO phase noise act on it too; here they do not.
For phase noise this changes nothing in law for AWGN (a rotated circular Gaussian is the
same circular Gaussian); a DC offset commutes with the noise; the receive IQ imbalance
would make the noise slightly improper (for 1 dB / 5 degrees its I and Q powers differ by
1 dB). Keeping the noise circular and last keeps the genie detector exact. The presets
declare the physical order: DAC, transmit IQ imbalance, PA, (transmit distortion), phase
noise and carrier offset (transmit and receive LO together), receive IQ imbalance, DC
offset, (receive distortion), noise, ADC. The PA commutes with any rotation
(``F(|x|) e^{j(arg x + Phi)}``), so phase noise of the transmit LO may sit after it.

The genie law. :meth:`StructuredLink.log_likelihoods` computes ``log p(y | x_m)`` under
the true law: the deterministic stages before the phase are applied to each candidate
point, the unknown part of the phase is integrated numerically (a fine uniform grid with
Gaussian weights by default, Gauss-Hermite on request), the deterministic widely linear
stages after it (receive IQ imbalance, DC offset) map every node, and the noise (plus
Gaussian distortion) law gives the density or, with an ADC, the probability of the
received cell on I and Q. What the genie knows: every stage's parameters, the symbol
time (so the carrier-offset ramp), and, for an untracked Wiener walk, its value up to the
previous symbol (``W_(n-1)``); it does not know ``D_n``, ``J_n`` or the noise.
"""

from __future__ import annotations

import copy
import logging
import math
from dataclasses import dataclass, field, fields, replace

import numpy as np
from numpy.polynomial.hermite import hermgauss
from scipy.special import logsumexp

from .channel import _DimensionLaw, check_noise, check_snr_db, quantize

log = logging.getLogger(__name__)

__all__ = [
    "CarrierOffset",
    "DCOffset",
    "GaussianDistortion",
    "IQImbalance",
    "LinkInfo",
    "NonUniformQuantizer",
    "PhaseNoise",
    "RappPA",
    "SalehPA",
    "Stage",
    "StructuredLink",
    "UniformQuantizer",
    "phase_nodes",
    "transmit_stream",
]

# Smallest probability of a quantizer cell, so that log-likelihoods stay finite.
_LOG_TINY = math.log(1e-300)
# Elements of one (symbols x candidates x phase nodes) block of the genie.
_BLOCK = 1 << 22
PHASE_RULES = ("grid", "hermite")


def _finite(value, name: str) -> float:
    try:
        out = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name}: expected a number, got {value!r}") from None
    if not math.isfinite(out):
        raise ValueError(f"{name}: must be finite, got {value!r}")
    return out


def _nonneg(value, name: str) -> float:
    out = _finite(value, name)
    if out < 0:
        raise ValueError(f"{name}: must be >= 0, got {value!r}")
    return out


def _positive(value, name: str) -> float:
    out = _finite(value, name)
    if out <= 0:
        raise ValueError(f"{name}: must be > 0, got {value!r}")
    return out


def _complex(value, name: str) -> complex:
    try:
        out = complex(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name}: expected a complex number, got {value!r}") from None
    if not (math.isfinite(out.real) and math.isfinite(out.imag)):
        raise ValueError(f"{name}: must be finite, got {value!r}")
    return out


def _jsonable(value):
    if isinstance(value, complex):
        return [value.real, value.imag]
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, tuple):
        return list(value)
    return value


def _as_complex(x) -> np.ndarray:
    return np.asarray(x, dtype=np.complex128)


# ----- stages ---------------------------------------------------------------------------


class Stage:
    """Base class of an impairment stage.

    Attributes
    ----------
    kind : str
        How the genie treats the stage: ``memoryless`` (a deterministic map of one
        symbol), ``affine`` (deterministic and widely linear, ``mu x + nu x* + c``),
        ``rotation`` (a phase rotation, partly known to the genie) or ``gaussian``
        (additive circular Gaussian distortion).
    equivariant : bool
        Whether the stage commutes with phase rotations (``F(x e^{ja}) = F(x) e^{ja}``).
    """

    name = "stage"
    kind = "memoryless"
    equivariant = False

    def apply(self, x: np.ndarray, rng: np.random.Generator | None) -> np.ndarray:
        """Impair the complex128 samples ``x``; random stages draw from ``rng``."""
        raise NotImplementedError

    def calibrate(self, nominal: np.ndarray) -> Stage:
        """Return the stage fitted to the nominal symbols that reach it (default: self).

        Parameters
        ----------
        nominal : complex128 array
            The nominal constellation after the deterministic part of the stages before.
        """
        return self

    def nominal(self, x: np.ndarray) -> np.ndarray:
        """The stage's deterministic part (what it does without randomness)."""
        return self.apply(_as_complex(x), None)

    def reset(self) -> None:
        """Forget any state carried from one call to the next (default: none)."""

    def as_dict(self) -> dict:
        """The stage's parameters as JSON-serialisable values, plus ``stage``."""
        out = {"stage": self.name}
        for f in fields(self):
            if f.init:
                out[f.name] = _jsonable(getattr(self, f.name))
        return out


class _Amplifier(Stage):
    """Shared back-off and fixed-gain logic of the amplifier models."""

    kind = "memoryless"
    equivariant = True

    @property
    def a_saturation(self) -> float:
        """Input amplitude that the back-off is measured from."""
        raise NotImplementedError

    def am_am(self, r: np.ndarray) -> np.ndarray:
        """Output amplitude at input amplitude ``r`` (before the gains)."""
        raise NotImplementedError

    def am_pm(self, r: np.ndarray) -> np.ndarray:
        """Phase shift in radians at input amplitude ``r`` (zero: no AM/PM)."""
        return np.zeros_like(np.asarray(r, dtype=float))

    def _curve(self, v: np.ndarray) -> np.ndarray:
        """``F(|v|) exp(j (arg v + Phi(|v|)))`` without dividing by ``|v|``."""
        raise NotImplementedError

    def calibrate(self, nominal: np.ndarray) -> _Amplifier:
        """Fix the input and output gains from the nominal constellation.

        Raises
        ------
        ValueError
            ``backoff_db`` drives even the weakest nominal symbol to or beyond the
            saturation amplitude.
        """
        nominal = _as_complex(nominal).reshape(-1)
        rms = float(np.sqrt(np.mean(np.abs(nominal) ** 2))) if nominal.size else 0.0
        if not rms > 0:
            raise ValueError("points: the nominal constellation has no power")
        gain_in = self.a_saturation * 10.0 ** (-self.backoff_db / 20.0) / rms
        weakest = gain_in * float(np.min(np.abs(nominal)))
        if weakest >= self.a_saturation:
            raise ValueError(
                f"backoff_db: {self.backoff_db} dB drives every symbol to or beyond "
                f"saturation (weakest input amplitude {weakest:.4g} >= "
                f"A_sat {self.a_saturation:.4g})"
            )
        out = self._curve(gain_in * nominal)
        power = float(np.mean(np.abs(out) ** 2))
        new = copy.copy(self)
        new.gain_in = gain_in
        new.gain_out = 1.0 / math.sqrt(power)
        return new

    @property
    def calibrated(self) -> bool:
        """Whether :meth:`calibrate` has fixed the gains."""
        return self.gain_in is not None

    def apply(self, x, rng=None):
        """``gain_out * PA(gain_in * x)``; the gains come from :meth:`calibrate`."""
        if not self.calibrated:
            raise RuntimeError(
                f"{type(self).__name__}: not calibrated; call calibrate(points) or "
                "use it inside a StructuredLink"
            )
        return self.gain_out * self._curve(self.gain_in * _as_complex(x))


@dataclass
class RappPA(_Amplifier):
    """Rapp amplifier (AM/AM only), driven at an input back-off.

    ``F(r) = r / (1 + (r / a_sat)^(2 p))^(1 / (2 p))``: linear for ``r << a_sat``,
    ``F(a_sat) = a_sat 2^(-1/(2p))``, approaching ``a_sat`` for large ``r``.

    Parameters
    ----------
    backoff_db : float
        Input back-off: rms input amplitude in dB below ``a_sat``.
    smoothness : float
        Rapp's ``p`` (> 0); 2-3 is typical of solid-state amplifiers.
    a_sat : float
        Saturation amplitude (> 0).
    """

    backoff_db: float = 1.0
    smoothness: float = 2.0
    a_sat: float = 1.0
    gain_in: float | None = field(default=None, init=False, repr=False)
    gain_out: float | None = field(default=None, init=False, repr=False)

    name = "rapp_pa"

    def __post_init__(self):
        self.backoff_db = _finite(self.backoff_db, "backoff_db")
        self.smoothness = _positive(self.smoothness, "smoothness")
        self.a_sat = _positive(self.a_sat, "a_sat")

    @property
    def a_saturation(self) -> float:
        """The saturation amplitude ``a_sat``."""
        return self.a_sat

    def am_am(self, r):
        """Output amplitude ``F(r)`` at input amplitude ``r`` (before the gains)."""
        r = np.asarray(r, dtype=float)
        p2 = 2.0 * self.smoothness
        return r / (1.0 + (r / self.a_sat) ** p2) ** (1.0 / p2)

    def _curve(self, v):
        p2 = 2.0 * self.smoothness
        return v / (1.0 + (np.abs(v) / self.a_sat) ** p2) ** (1.0 / p2)


@dataclass
class SalehPA(_Amplifier):
    """Saleh amplifier (AM/AM and AM/PM), driven at an input back-off.

    ``F(r) = alpha_a r / (1 + beta_a r^2)``, ``Phi(r) = alpha_phi r^2 / (1 + beta_phi
    r^2)``. Defaults are Saleh's (1981) travelling-wave-tube fit: 2.1587, 1.1517, 4.0033,
    9.1040. The saturation amplitude is ``1 / sqrt(beta_a)``, where ``F`` peaks at
    ``alpha_a / (2 sqrt(beta_a))``; beyond it the output amplitude falls again.

    Parameters
    ----------
    backoff_db : float
        Input back-off: rms input amplitude in dB below ``1 / sqrt(beta_a)``.
    alpha_a, beta_a : float
        AM/AM coefficients (> 0).
    alpha_phi, beta_phi : float
        AM/PM coefficients (>= 0), ``Phi`` in radians.
    """

    backoff_db: float = 3.0
    alpha_a: float = 2.1587
    beta_a: float = 1.1517
    alpha_phi: float = 4.0033
    beta_phi: float = 9.1040
    gain_in: float | None = field(default=None, init=False, repr=False)
    gain_out: float | None = field(default=None, init=False, repr=False)

    name = "saleh_pa"

    def __post_init__(self):
        self.backoff_db = _finite(self.backoff_db, "backoff_db")
        self.alpha_a = _positive(self.alpha_a, "alpha_a")
        self.beta_a = _positive(self.beta_a, "beta_a")
        self.alpha_phi = _nonneg(self.alpha_phi, "alpha_phi")
        self.beta_phi = _nonneg(self.beta_phi, "beta_phi")

    @property
    def a_saturation(self) -> float:
        """The input amplitude ``1 / sqrt(beta_a)`` at which the output peaks."""
        return 1.0 / math.sqrt(self.beta_a)

    def am_am(self, r):
        """Output amplitude ``F(r)`` at input amplitude ``r`` (before the gains)."""
        r = np.asarray(r, dtype=float)
        return self.alpha_a * r / (1.0 + self.beta_a * r**2)

    def am_pm(self, r):
        """Phase shift ``Phi(r)`` in radians at input amplitude ``r``."""
        r2 = np.asarray(r, dtype=float) ** 2
        return self.alpha_phi * r2 / (1.0 + self.beta_phi * r2)

    def _curve(self, v):
        r2 = np.abs(v) ** 2
        gain = self.alpha_a / (1.0 + self.beta_a * r2)
        return v * gain * np.exp(1j * self.alpha_phi * r2 / (1.0 + self.beta_phi * r2))


@dataclass
class IQImbalance(Stage):
    """Amplitude and phase mismatch of the I and Q branches (see the module docstring).

    Parameters
    ----------
    amplitude_db : float
        Gain of the Q branch relative to I, in dB.
    phase_deg : float
        Skew of the Q branch's LO from quadrature, degrees, ``|phase_deg| < 90``.
    side : {"tx", "rx"}
        Modulator (transmit) or demodulator (receive) model.
    """

    amplitude_db: float = 0.0
    phase_deg: float = 0.0
    side: str = "rx"

    name = "iq_imbalance"
    kind = "affine"

    def __post_init__(self):
        self.amplitude_db = _finite(self.amplitude_db, "amplitude_db")
        self.phase_deg = _finite(self.phase_deg, "phase_deg")
        if abs(self.phase_deg) >= 90.0:
            raise ValueError(
                f"phase_deg: must satisfy |phase_deg| < 90 (I and Q would be "
                f"collinear), got {self.phase_deg}"
            )
        if self.side not in ("tx", "rx"):
            raise ValueError(f"side: expected 'tx' or 'rx', got {self.side!r}")

    def affine(self) -> tuple[complex, complex, complex]:
        """``(mu, nu, c)`` of ``y = mu x + nu conj(x) + c``."""
        g = 10.0 ** (self.amplitude_db / 20.0)
        phi = math.radians(self.phase_deg)
        sign = 1.0 if self.side == "tx" else -1.0
        mu = (1.0 + g * complex(math.cos(phi), sign * math.sin(phi))) / 2.0
        nu = (1.0 - g * complex(math.cos(phi), math.sin(phi))) / 2.0
        return mu, nu, 0j

    def apply(self, x, rng=None):
        """``mu x + nu conj(x)``."""
        x = _as_complex(x)
        mu, nu, _ = self.affine()
        return mu * x + nu * np.conj(x)


@dataclass
class DCOffset(Stage):
    """Additive complex DC offset ``y = x + offset`` (LO leakage, mixer self-mixing).

    Parameters
    ----------
    offset : complex
        The offset, in units of the unit-power signal.
    """

    offset: complex = 0j

    name = "dc_offset"
    kind = "affine"

    def __post_init__(self):
        self.offset = _complex(self.offset, "offset")

    def affine(self) -> tuple[complex, complex, complex]:
        """``(1, 0, offset)``."""
        return 1.0 + 0j, 0j, self.offset

    def apply(self, x, rng=None):
        """``x + offset``."""
        return _as_complex(x) + self.offset


@dataclass
class PhaseNoise(Stage):
    """Wiener phase noise, optional i.i.d. jitter and a static residual phase.

    ``theta_n = static + W_n + J_n``, ``W_n = W_(n-1) + D_n``, ``D_n ~ N(0,
    increment_var)``, ``J_n ~ N(0, (jitter_deg pi / 180)^2)``. With ``tracked`` the
    receiver's carrier recovery is assumed to remove ``W_(n-1)`` ideally, leaving
    ``static + D_n + J_n`` (i.i.d. per symbol); without it the walk accumulates across
    calls (until :meth:`reset`).

    Parameters
    ----------
    increment_var : float
        Variance of the walk's per-symbol increment, rad^2 (>= 0).
    jitter_deg : float
        Rms of the i.i.d. jitter, degrees (>= 0).
    static_deg : float
        Static residual phase, degrees.
    tracked : bool
        Whether the walk is tracked up to the last symbol (see above).
    """

    increment_var: float = 0.0
    jitter_deg: float = 0.0
    static_deg: float = 0.0
    tracked: bool = True
    _walk: float = field(default=0.0, init=False, repr=False)
    _known: object = field(default=None, init=False, repr=False)

    name = "phase_noise"
    kind = "rotation"

    def __post_init__(self):
        self.increment_var = _nonneg(self.increment_var, "increment_var")
        self.jitter_deg = _nonneg(self.jitter_deg, "jitter_deg")
        self.static_deg = _finite(self.static_deg, "static_deg")
        self.tracked = bool(self.tracked)

    @property
    def unknown_var(self) -> float:
        """Variance (rad^2) of the per-symbol phase the genie does not know."""
        return self.increment_var + math.radians(self.jitter_deg) ** 2

    def apply(self, x, rng):
        """Rotate each sample by its phase; records what the genie knows."""
        x = _as_complex(x)
        n = x.size
        static = math.radians(self.static_deg)
        step = math.sqrt(self.increment_var) * rng.standard_normal(n)
        jitter = math.radians(self.jitter_deg) * rng.standard_normal(n)
        if self.tracked:
            self._known = static
            theta = static + step + jitter
        else:
            walk = self._walk + np.cumsum(step)
            previous = np.concatenate(([self._walk], walk[:-1]))
            self._walk = float(walk[-1]) if n else self._walk
            self._known = static + previous.reshape(x.shape)
            theta = static + walk + jitter
        return x * np.exp(1j * theta.reshape(x.shape))

    def nominal(self, x):
        """Rotation by the static phase."""
        return _as_complex(x) * np.exp(1j * math.radians(self.static_deg))

    def known_phase(self):
        """Phase the genie knows for the last block: a float or one value per symbol."""
        if self._known is None:
            return math.radians(self.static_deg) if self.tracked else None
        return self._known

    def reset(self):
        """Restart the walk at zero."""
        self._walk = 0.0
        self._known = None


@dataclass
class CarrierOffset(Stage):
    """Residual carrier frequency offset: a phase ramp ``2 pi f n``.

    Parameters
    ----------
    cycles_per_symbol : float
        ``f``, ``|f| <= 0.5``. The symbol counter ``n`` runs on across calls.
    """

    cycles_per_symbol: float = 0.0
    _count: int = field(default=0, init=False, repr=False)
    _known: object = field(default=None, init=False, repr=False)

    name = "carrier_offset"
    kind = "rotation"
    unknown_var = 0.0

    def __post_init__(self):
        self.cycles_per_symbol = _finite(self.cycles_per_symbol, "cycles_per_symbol")
        if abs(self.cycles_per_symbol) > 0.5:
            raise ValueError(
                f"cycles_per_symbol: must be within [-0.5, 0.5], got "
                f"{self.cycles_per_symbol}"
            )

    def apply(self, x, rng=None):
        """Rotate sample ``n`` by ``2 pi f (count + n)``."""
        x = _as_complex(x)
        n = np.arange(self._count, self._count + x.size)
        self._count += x.size
        # the ramp modulo one cycle first, so that large counts keep their precision
        theta = 2.0 * math.pi * np.mod(self.cycles_per_symbol * n, 1.0)
        self._known = theta.reshape(x.shape)
        return x * np.exp(1j * self._known)

    def nominal(self, x):
        """No rotation (the ramp averages out)."""
        return _as_complex(x)

    def known_phase(self):
        """The ramp of the last block (the genie knows the symbol time)."""
        return 0.0 if self._known is None else self._known

    def reset(self):
        """Restart the ramp at ``n = 0``."""
        self._count = 0
        self._known = None


@dataclass
class GaussianDistortion(Stage):
    """Bjornson's aggregate hardware distortion ``eta ~ CN(0, kappa^2)``, added.

    Parameters
    ----------
    kappa : float
        Error-vector magnitude relative to the unit signal power (>= 0).
    side : {"tx", "rx"}
        Which end it models (reported as ``kappa_t`` or ``kappa_r``).
    """

    kappa: float = 0.0
    side: str = "tx"

    name = "gaussian_distortion"
    kind = "gaussian"

    def __post_init__(self):
        self.kappa = _nonneg(self.kappa, "kappa")
        if self.side not in ("tx", "rx"):
            raise ValueError(f"side: expected 'tx' or 'rx', got {self.side!r}")

    def apply(self, x, rng):
        """``x + kappa sqrt(1/2) (N(0,1) + j N(0,1))``."""
        x = _as_complex(x)
        scale = math.sqrt(self.kappa**2 / 2.0)
        n = x.size
        eta = scale * (rng.standard_normal(n) + 1j * rng.standard_normal(n))
        return x + eta.reshape(x.shape)

    def nominal(self, x):
        """Identity (zero-mean distortion)."""
        return _as_complex(x)


class _Quantizer(Stage):
    """Per-dimension scalar quantizer: levels and input thresholds on I and on Q."""

    kind = "memoryless"

    def tables(self, dim: int) -> tuple[np.ndarray, np.ndarray]:
        """``(edges, levels)`` of dimension 0 (I) or 1 (Q), both ascending."""
        raise NotImplementedError

    def cells(self, y: np.ndarray, dim: int) -> tuple[np.ndarray, np.ndarray]:
        """Input interval ``(lo, hi]`` that produced each output value ``y``."""
        edges, levels = self.tables(dim)
        k = np.searchsorted((levels[1:] + levels[:-1]) / 2.0, np.asarray(y, float))
        bounds = np.concatenate(([-np.inf], edges, [np.inf]))
        return bounds[k], bounds[k + 1]

    def cell_index(self, y: np.ndarray, dim: int) -> np.ndarray:
        """Index of the output level of each value ``y`` on dimension ``dim``."""
        _, levels = self.tables(dim)
        return np.searchsorted((levels[1:] + levels[:-1]) / 2.0, np.asarray(y, float))

    def step_rms(self) -> float:
        """Rms error of a uniform quantizer with I's median step, ``step / sqrt(12)``."""
        edges, _ = self.tables(0)
        if edges.size < 2:
            return 0.0
        return float(np.median(np.diff(edges))) / math.sqrt(12.0)


@dataclass
class UniformQuantizer(_Quantizer):
    """Uniform mid-rise quantizer with an asymmetric input offset, per I and Q.

    ``y = quantize(x_I + o_I) + j quantize(x_Q + o_Q)`` with
    :func:`wigenai.channel.quantize` (``2^bits`` levels over ``[-full_scale,
    full_scale]``) and ``o = offset_lsb * step``, ``step = 2 full_scale / 2^bits``. The
    output levels stay the nominal ones: the offset shifts the thresholds to
    ``k step - o``, as an ADC's offset error does.

    Parameters
    ----------
    bits : int
        Resolution per real dimension, 1..16.
    full_scale : float
        ``A`` (> 0); ignored when ``loading`` is set.
    offset_lsb_i, offset_lsb_q : float
        Input offsets in steps (``|offset| < 1`` is the usual range; any finite value).
    loading : float or None
        Receive ADC only: automatic gain, ``full_scale = loading sqrt(P / 2)`` with
        ``P = 1 + kappa_t^2 + kappa_r^2 + N0`` the link's nominal input power, as in
        :class:`wigenai.channel.LinkParams`.
    """

    bits: int = 8
    full_scale: float = 1.0
    offset_lsb_i: float = 0.0
    offset_lsb_q: float = 0.0
    loading: float | None = None

    name = "uniform_quantizer"

    def __post_init__(self):
        ok = isinstance(self.bits, (int, np.integer)) and not isinstance(self.bits, bool)
        if not ok or not 1 <= self.bits <= 16:
            raise ValueError(f"bits: expected an integer in 1..16, got {self.bits!r}")
        self.bits = int(self.bits)
        self.full_scale = _positive(self.full_scale, "full_scale")
        self.offset_lsb_i = _finite(self.offset_lsb_i, "offset_lsb_i")
        self.offset_lsb_q = _finite(self.offset_lsb_q, "offset_lsb_q")
        if self.loading is not None:
            self.loading = _positive(self.loading, "loading")

    @property
    def step(self) -> float:
        """Quantizer step ``2 full_scale / 2^bits``."""
        return 2.0 * self.full_scale / (1 << self.bits)

    def apply(self, x, rng=None):
        """Quantize I and Q (with their offsets)."""
        x = _as_complex(x)
        s = self.step
        i = quantize(x.real + self.offset_lsb_i * s, self.bits, self.full_scale)
        q = quantize(x.imag + self.offset_lsb_q * s, self.bits, self.full_scale)
        return i + 1j * q

    def tables(self, dim):
        """``(edges, levels)`` on dimension ``dim`` (0 = I, 1 = Q)."""
        s = self.step
        half = 1 << (self.bits - 1)
        offset = (self.offset_lsb_i if dim == 0 else self.offset_lsb_q) * s
        k = np.arange(-half, half)
        edges = s * np.arange(-half + 1, half) - offset
        return edges, s * (k + 0.5)


@dataclass
class NonUniformQuantizer(_Quantizer):
    """Quantizer with explicit thresholds and output levels per I and Q.

    Input in ``[edges[k-1], edges[k])`` (``edges[-1] = -inf``, ``edges[L-1] = +inf``)
    outputs ``levels[k]``.

    Parameters
    ----------
    edges : sequence of float
        ``L - 1`` strictly increasing thresholds of I.
    levels : sequence of float
        ``L`` strictly increasing output levels of I.
    edges_q, levels_q : sequence of float or None
        Q's tables (default: the same as I).
    """

    edges: tuple = ()
    levels: tuple = (0.0,)
    edges_q: tuple | None = None
    levels_q: tuple | None = None

    name = "nonuniform_quantizer"

    def __post_init__(self):
        self.edges, self.levels = self._check(self.edges, self.levels, "edges", "levels")
        if (self.edges_q is None) != (self.levels_q is None):
            raise ValueError("edges_q: give both edges_q and levels_q, or neither")
        if self.edges_q is not None:
            self.edges_q, self.levels_q = self._check(
                self.edges_q, self.levels_q, "edges_q", "levels_q"
            )

    @staticmethod
    def _check(edges, levels, e_name, l_name):
        e = np.asarray(edges, dtype=float).reshape(-1)
        lv = np.asarray(levels, dtype=float).reshape(-1)
        if not np.all(np.isfinite(e)) or np.any(np.diff(e) <= 0):
            raise ValueError(f"{e_name}: must be finite and strictly increasing")
        if lv.size != e.size + 1:
            raise ValueError(
                f"{l_name}: expected {e.size + 1} levels for {e.size} edges, "
                f"got {lv.size}"
            )
        if not np.all(np.isfinite(lv)) or np.any(np.diff(lv) <= 0):
            raise ValueError(f"{l_name}: must be finite and strictly increasing")
        return tuple(e.tolist()), tuple(lv.tolist())

    @classmethod
    def mu_law(
        cls, bits: int, full_scale: float, mu: float = 255.0
    ) -> NonUniformQuantizer:
        """Companded quantizer: uniform mid-rise in the mu-law domain, expanded back.

        Compressor ``c(v) = sign(v) A ln(1 + mu |v| / A) / ln(1 + mu)``; the thresholds
        and levels are ``c^-1`` of the uniform ``2^bits``-level ones on ``[-A, A]``.

        Parameters
        ----------
        bits : int
            Resolution per real dimension, 1..16.
        full_scale : float
            ``A`` (> 0).
        mu : float
            Compression (> 0); 255 is the telephony value.
        """
        uq = UniformQuantizer(bits, full_scale)
        mu = _positive(mu, "mu")
        edges, levels = uq.tables(0)
        a = uq.full_scale

        def expand(u):
            return np.sign(u) * a * ((1.0 + mu) ** (np.abs(u) / a) - 1.0) / mu

        return cls(tuple(expand(edges)), tuple(expand(levels)))

    def tables(self, dim):
        """``(edges, levels)`` on dimension ``dim`` (0 = I, 1 = Q)."""
        if dim == 1 and self.edges_q is not None:
            return np.asarray(self.edges_q), np.asarray(self.levels_q)
        return np.asarray(self.edges), np.asarray(self.levels)

    def apply(self, x, rng=None):
        """Look up each dimension's level."""
        x = _as_complex(x)
        out = []
        for dim, part in ((0, x.real), (1, x.imag)):
            edges, levels = self.tables(dim)
            out.append(levels[np.searchsorted(edges, part, side="right")])
        return out[0] + 1j * out[1]


# ----- quadrature over the phase --------------------------------------------------------


def phase_nodes(
    sigma: float,
    resolution: float | None = None,
    rule: str = "grid",
    nodes: int | None = None,
    span: float = 6.0,
    max_nodes: int = 4097,
) -> tuple[np.ndarray, np.ndarray]:
    """Nodes and log-weights for ``E[f(theta)]``, ``theta ~ N(0, sigma^2)``.

    ``grid``: the trapezoid rule on ``[-span sigma, span sigma]`` with weights
    proportional to the Gaussian density, node spacing ``resolution`` (rad) unless
    ``nodes`` is given. For a smooth integrand (prior times likelihood) whose peak has
    width ``w`` the relative error is of order ``exp(-2 pi^2 (w / spacing)^2)``, so a
    spacing of ``w`` is ample; the link asks for ``w = sigma s / sqrt(sigma^2 + s^2)``,
    ``s`` the likelihood's width in phase at the largest amplitude (noise rms over
    amplitude). ``hermite``:
    Gauss-Hermite with ``nodes`` points (32 by default); its central node spacing is
    about ``pi sigma / sqrt(nodes)``, which needs far more nodes than the grid once
    the likelihood is much narrower than the phase prior (high SNR, strong phase noise).

    Parameters
    ----------
    sigma : float
        Standard deviation of the phase, rad (>= 0; 0 gives the single node 0).
    resolution : float or None
        Wanted spacing of the grid, rad.
    rule : {"grid", "hermite"}
    nodes : int or None
        Number of nodes (overrides ``resolution``).
    span : float
        Half-width of the grid in standard deviations.
    max_nodes : int
        Upper bound on the grid's size.

    Returns
    -------
    phases, log_weights : float arrays, shape (K,)
        ``sum(exp(log_weights)) == 1``.
    """
    sigma = _nonneg(sigma, "sigma")
    if rule not in PHASE_RULES:
        raise ValueError(f"rule: expected one of {PHASE_RULES}, got {rule!r}")
    if nodes is not None and (int(nodes) != nodes or nodes < 1):
        raise ValueError(f"nodes: expected a positive integer, got {nodes!r}")
    if sigma == 0.0:
        return np.zeros(1), np.zeros(1)
    if rule == "hermite":
        if nodes is not None and nodes > 150:
            raise ValueError(f"nodes: Gauss-Hermite is limited to 150 nodes, got {nodes}")
        t, w = hermgauss(int(nodes or 32))
        return math.sqrt(2.0) * sigma * t, np.log(w / math.sqrt(math.pi))
    if nodes is None:
        if resolution is None or not resolution > 0:
            raise ValueError(f"resolution: expected a spacing > 0, got {resolution!r}")
        count = int(math.ceil(2.0 * span * sigma / resolution)) + 1
        nodes = min(max(count | 1, 9), max_nodes | 1)
    t = np.linspace(-span, span, int(nodes))
    logw = -0.5 * t**2
    return sigma * t, logw - logsumexp(logw)


def _log_interval(law: _DimensionLaw, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """``log P(lo < Z <= hi)`` for the symmetric per-dimension law of the noise."""
    upper = lo > 0  # the interval lies right of zero: use P = F(-lo) - F(-hi)
    a = np.where(upper, -hi, lo)
    b = np.where(upper, -lo, hi)
    log_fb = law._log_cdf(b)
    log_fa = law._log_cdf(a)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = log_fb + np.log1p(-np.exp(np.minimum(log_fa - log_fb, 0.0)))
    return np.maximum(np.nan_to_num(out, nan=_LOG_TINY, neginf=_LOG_TINY), _LOG_TINY)


# ----- the link -------------------------------------------------------------------------


@dataclass
class LinkInfo:
    """What receivers and sweeps read as ``channel.params`` (cf. ``LinkParams``).

    Attributes
    ----------
    snr_db : float
        Es/N0 per complex symbol, dB.
    noise : str
        ``awgn`` or ``laplace``.
    fading : bool
        Always False: the structured link has no fading, ``h`` is ones.
    kappa_t, kappa_r : float
        Rms of the Gaussian distortion stages on each side (0 when there are none).
    adc_bits : int
        Bits of a uniform receive ADC, 0 for none or a non-uniform one.
    adc_full_scale : float
        Full scale of the uniform receive ADC at this SNR (``inf`` without one).
    """

    snr_db: float
    noise: str = "awgn"
    fading: bool = False
    kappa_t: float = 0.0
    kappa_r: float = 0.0
    adc_bits: int = 0
    adc_full_scale: float = math.inf

    @property
    def n0(self) -> float:
        """Noise power per complex symbol (Es = 1)."""
        return 10.0 ** (-self.snr_db / 10.0)


class _GenieModel:
    """The stages split for the genie: candidate map, rotation, widely linear tail."""

    def __init__(self, stages: list[Stage]):
        self.pre: list[Stage] = []
        self.rotations: list[Stage] = []
        self.mu, self.nu, self.c = 1.0 + 0j, 0j, 0j
        self.dist_var = 0.0  # per complex sample
        self.error: str | None = None
        state = "pre"
        gaussian_seen = False
        for s in stages:
            if state == "pre":
                if s.kind in ("memoryless", "affine"):
                    self.pre.append(s)
                elif s.kind == "rotation":
                    self.rotations.append(s)
                    state = "rot"
                else:
                    self._add_gaussian(s)
                    gaussian_seen = True
                    state = "post"
            elif state == "rot":
                if s.kind == "rotation":
                    self.rotations.append(s)
                elif s.kind == "memoryless" and s.equivariant:
                    self.pre.append(s)  # commutes with the rotations before it
                elif s.kind == "affine":
                    self._add_affine(s)
                    state = "post"
                elif s.kind == "gaussian":
                    self._add_gaussian(s)
                    gaussian_seen = True
                    state = "post"
                else:
                    self._fail(s, "a non-equivariant memoryless stage after the phase")
            else:  # post
                if s.kind == "gaussian":
                    self._add_gaussian(s)
                    gaussian_seen = True
                elif s.kind == "affine":
                    mu, nu, _ = s.affine()
                    if gaussian_seen and (abs(abs(mu) - 1.0) > 1e-12 or nu != 0):
                        self._fail(s, "a widely linear map acting on Gaussian distortion")
                    self._add_affine(s)
                elif s.kind == "rotation" and (self.mu, self.nu, self.c) == (1, 0, 0):
                    self.rotations.append(s)  # rotations commute with circular noise
                else:
                    self._fail(s, "a stage the genie cannot marginalise at this place")

    def _fail(self, s: Stage, why: str):
        if self.error is None:
            self.error = f"stages: the genie law does not cover {s.name} here ({why})"

    def _add_affine(self, s: Stage):
        mu2, nu2, c2 = s.affine()
        mu, nu, c = self.mu, self.nu, self.c
        self.mu = mu2 * mu + nu2 * np.conj(nu)
        self.nu = mu2 * nu + nu2 * np.conj(mu)
        self.c = mu2 * c + nu2 * np.conj(c) + c2

    def _add_gaussian(self, s: GaussianDistortion):
        self.dist_var += s.kappa**2

    @property
    def phase_var(self) -> float:
        """Variance (rad^2) of the phase the genie integrates over."""
        return float(sum(s.unknown_var for s in self.rotations))

    def known_phase(self):
        """Sum of the rotation stages' known phases (None if one is not yet known)."""
        total = 0.0
        for s in self.rotations:
            k = s.known_phase()
            if k is None:
                return None
            total = total + k
        return total

    def candidates(self, points: np.ndarray) -> np.ndarray:
        """The candidate points through the stages before the phase."""
        a = _as_complex(points).reshape(-1)
        for s in self.pre:
            a = s.apply(a, None)
        return a


class StructuredLink:
    """A seeded link of impairment stages, thermal noise and an optional ADC.

    Drop-in for :class:`wigenai.channel.ImpairedChannel` where receivers are concerned:
    ``transmit(x) -> (y, h)`` with ``h`` ones, ``set_snr_db``, ``params`` (a
    :class:`LinkInfo`) and ``log_likelihoods`` (the genie law), so that
    :class:`wigenai.receivers.MapReceiver` works on it too when the genie-known phase
    is constant (no carrier offset, tracked or no Wiener walk).

    Parameters
    ----------
    stages : sequence of Stage
        Applied in this order; amplifiers are calibrated on ``points`` pushed through
        the deterministic part of the stages before them. Stateful stages are copied.
    snr_db : float
        Es/N0 per complex symbol, dB.
    points : array of complex
        The nominal constellation (unit average energy), for the calibration.
    noise : {"awgn", "laplace"}
        Thermal noise law, variance ``N0`` per complex symbol.
    adc : UniformQuantizer, NonUniformQuantizer or None
        Receive quantizer, after the noise.
    seed : int, sequence of int or None
        Seed of the link's random generator.
    """

    def __init__(
        self,
        stages,
        snr_db: float,
        *,
        points,
        noise: str = "awgn",
        adc: _Quantizer | None = None,
        seed=None,
    ):
        self.points = _as_complex(points).reshape(-1)
        if self.points.size == 0:
            raise ValueError("points: the nominal constellation is empty")
        if adc is not None and not isinstance(adc, _Quantizer):
            raise ValueError(f"adc: expected a quantizer stage, got {adc!r}")
        self.noise_law = check_noise(noise)
        self._seed = seed
        self.rng = np.random.default_rng(seed)
        calibrated = []
        nominal = self.points
        for s in stages:
            if not isinstance(s, Stage):
                raise ValueError(f"stages: expected Stage objects, got {s!r}")
            if isinstance(s, UniformQuantizer) and s.loading is not None:
                raise ValueError("loading: the AGC is for the receive ADC only")
            s = copy.deepcopy(s).calibrate(nominal)
            s.reset()
            nominal = s.nominal(nominal)
            calibrated.append(s)
        self.stages = calibrated
        self.adc_template = adc
        self._genie = _GenieModel(self.stages)
        self.kappa_t = math.sqrt(
            sum(s.kappa**2 for s in calibrated if s.kind == "gaussian" and s.side == "tx")
        )
        self.kappa_r = math.sqrt(
            sum(s.kappa**2 for s in calibrated if s.kind == "gaussian" and s.side == "rx")
        )
        self.set_snr_db(snr_db)

    # ----- configuration ----------------------------------------------------------------

    def set_snr_db(self, snr_db: float) -> None:
        """Change the SNR (and with it the ADC's automatic gain)."""
        snr_db = check_snr_db(snr_db)
        n0 = 10.0 ** (-snr_db / 10.0)
        adc = self.adc_template
        if isinstance(adc, UniformQuantizer) and adc.loading is not None:
            power = 1.0 + self.kappa_t**2 + self.kappa_r**2 + n0
            adc = replace(adc, full_scale=adc.loading * math.sqrt(power / 2.0))
        self.adc = adc
        uniform = isinstance(adc, UniformQuantizer)
        self.params = LinkInfo(
            snr_db=snr_db,
            noise=self.noise_law,
            kappa_t=self.kappa_t,
            kappa_r=self.kappa_r,
            adc_bits=adc.bits if uniform else 0,
            adc_full_scale=adc.full_scale if uniform else math.inf,
        )

    @property
    def snr_db(self) -> float:
        """Es/N0 per complex symbol, dB."""
        return self.params.snr_db

    @property
    def n0(self) -> float:
        """Noise power per complex symbol."""
        return self.params.n0

    def spawn(self, seed=None) -> StructuredLink:
        """A fresh copy (same stages and SNR, reset state) with its own generator."""
        return StructuredLink(
            self.stages,
            self.snr_db,
            points=self.points,
            noise=self.noise_law,
            adc=self.adc_template,
            seed=seed,
        )

    def reset(self, seed=None) -> None:
        """Reset the stages' state and reseed the generator."""
        for s in self.stages:
            s.reset()
        self.rng = np.random.default_rng(seed)

    def describe(self) -> list[dict]:
        """The stages, noise and ADC in order, as JSON-serialisable dicts."""
        out = [s.as_dict() for s in self.stages]
        out.append({"stage": "noise", "law": self.noise_law, "snr_db": self.snr_db})
        if self.adc_template is not None:
            adc = self.adc_template.as_dict()
            out.append({"stage": "adc", "quantizer": adc.pop("stage"), **adc})
        return out

    # ----- simulation -------------------------------------------------------------------

    def noise(self, n: int) -> np.ndarray:
        """``n`` samples of thermal noise (variance N0 per complex sample)."""
        n0 = self.n0
        if self.noise_law == "awgn":
            scale = math.sqrt(n0 / 2.0)
            re = self.rng.standard_normal(n)
            return scale * (re + 1j * self.rng.standard_normal(n))
        b = math.sqrt(n0 / 4.0)  # Laplace(b): variance 2 b^2 = N0 / 2 per dimension
        return self.rng.laplace(0.0, b, n) + 1j * self.rng.laplace(0.0, b, n)

    def impair(self, x: np.ndarray) -> np.ndarray:
        """The declared stages alone (no noise, no ADC), drawing from the link's rng."""
        u = _as_complex(x).reshape(-1)
        for s in self.stages:
            u = s.apply(u, self.rng)
        return u

    def transmit(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Send unit-energy symbols ``x`` through the link.

        Returns
        -------
        y : complex128 array, shape (N,)
            Received (and, with an ADC, quantized) samples.
        h : complex128 array, shape (N,)
            Ones: the link has no fading.
        """
        u = self.impair(x)
        u = u + self.noise(u.size)
        if self.adc is not None:
            u = self.adc.apply(u)
        return u, np.ones(u.size, np.complex128)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return self.transmit(x)[0]

    # ----- the genie law ----------------------------------------------------------------

    def known_phase(self):
        """Phase the genie knows per symbol of the last block (float, or an array).

        The sum of the rotation stages' known parts: the static phase, the carrier
        ramp, the untracked walk up to the previous symbol. ``None`` before the first
        block of an untracked walk.
        """
        return self._genie.known_phase()

    @property
    def phase_std(self) -> float:
        """Rms (rad) of the per-symbol phase the genie does not know."""
        return math.sqrt(self._genie.phase_var)

    def _law(self) -> _DimensionLaw:
        return _DimensionLaw(
            np.asarray(self._genie.dist_var / 2.0), self.n0, self.noise_law
        )

    def _nodes(self, a: np.ndarray, rule: str, nodes: int | None):
        g = self._genie
        spread = g.dist_var / 2.0 + self.n0 / 2.0
        if self.adc is not None:
            spread += self.adc.step_rms() ** 2
        reach = float(np.max(np.abs(a))) * (abs(g.mu) + abs(g.nu))
        # width in phase of the likelihood at the largest amplitude, then of its
        # product with the phase prior: the integrand the grid has to resolve
        # (0.7: the likelihood narrows where the noise pushes y outwards)
        width = 0.7 * math.sqrt(spread) / max(reach, 1e-12)
        sigma = self.phase_std
        if sigma > 0:
            width = sigma * width / math.hypot(sigma, width)
        return phase_nodes(sigma, width, rule, nodes)

    def log_likelihoods(
        self,
        y: np.ndarray,
        candidates: np.ndarray,
        h: np.ndarray | None = None,
        known_phase=None,
        rule: str = "grid",
        nodes: int | None = None,
    ) -> np.ndarray:
        """``log p(y_n | x_m)`` under the true link law, shape ``(N, M)``.

        Cost: ``O(N M K)`` likelihood terms for ``K`` phase nodes (``K`` grows with
        the ratio of the phase rms to the noise rms over the largest amplitude, so with
        the SNR). With a receive ADC and a constant known phase the work is
        ``O((L + U) M K)`` instead, ``L`` levels per dimension and ``U`` distinct
        received cells, as the likelihood depends on ``y`` only through its cell.

        Parameters
        ----------
        y : complex array, shape (N,)
            Received samples.
        candidates : complex array, shape (M,)
            Nominal symbols; the link's deterministic stages are applied to them.
        h : array or None
            Ignored (no fading); accepted for the ``ImpairedChannel`` interface.
        known_phase : float, array of shape (N,) or None
            Genie-known phase per symbol; by default :meth:`known_phase` of the last
            block, which must then be constant or have ``N`` values.
        rule, nodes : see :func:`phase_nodes`.
        """
        g = self._genie
        if g.error is not None:
            raise ValueError(g.error)
        y = _as_complex(y).reshape(-1)
        mean = self.known_phase() if known_phase is None else known_phase
        if mean is None:
            raise ValueError("known_phase: no block sent yet on an untracked walk")
        mean = np.asarray(mean, dtype=float)
        if mean.ndim and mean.size != y.size:
            raise ValueError(
                f"known_phase: {mean.size} values for {y.size} samples; pass the slice "
                "that belongs to y"
            )
        a = g.candidates(candidates)
        phases, logw = self._nodes(a, rule, nodes)
        log.debug("genie: %d candidates x %d phase nodes", a.size, phases.size)
        b = a[:, None] * np.exp(1j * phases)[None, :]  # (M, K)
        law = self._law()
        if mean.ndim == 0:
            rot = np.exp(1j * float(mean))
            z = g.mu * rot * b + g.nu * np.conj(rot * b) + g.c
            if self.adc is not None:
                return self._ll_cells(y, z, logw, law)
            return self._ll_dense(y, z, logw, law)
        return self._ll_varying(y, b, mean.reshape(-1), logw, law)

    def _ll_dense(self, y, z, logw, law) -> np.ndarray:
        m, k = z.shape
        out = np.empty((y.size, m))
        rows = max(1, _BLOCK // (m * k))
        zr = z.real.reshape(1, -1)
        zi = z.imag.reshape(1, -1)
        for start in range(0, y.size, rows):
            yy = y[start : start + rows, None]
            if law.b is None:  # Gaussian: one quadratic form
                s2 = float(law.s) ** 2
                d2 = (yy.real - zr) ** 2 + (yy.imag - zi) ** 2
                ll = -d2 / (2.0 * s2) - math.log(2.0 * math.pi * s2)
            else:
                ll = law.log_pdf(yy.real - zr) + law.log_pdf(yy.imag - zi)
            ll = ll.reshape(-1, m, k) + logw
            out[start : start + rows] = logsumexp(ll, axis=2)
        return out

    def _ll_cells(self, y, z, logw, law) -> np.ndarray:
        m, k = z.shape
        tables, inverse = [], []
        for dim, part, zpart in ((0, y.real, z.real), (1, y.imag, z.imag)):
            idx = self.adc.cell_index(part, dim)
            uniq, inv = np.unique(idx, return_inverse=True)
            edges, levels = self.adc.tables(dim)
            lo, hi = self.adc.cells(levels[uniq], dim)
            t = _log_interval(
                law, lo[:, None, None] - zpart[None], hi[:, None, None] - zpart[None]
            )
            tables.append(t)  # (U_dim, M, K)
            inverse.append(inv)
        n_q = tables[1].shape[0]
        pair = inverse[0] * n_q + inverse[1]
        pairs, pair_inv = np.unique(pair, return_inverse=True)
        pi, pq = np.divmod(pairs, n_q)
        table = np.empty((pairs.size, m))
        rows = max(1, _BLOCK // (m * k))
        for start in range(0, pairs.size, rows):
            sl = slice(start, start + rows)
            table[sl] = logsumexp(tables[0][pi[sl]] + tables[1][pq[sl]] + logw, axis=2)
        return table[pair_inv]

    def _ll_varying(self, y, b, mean, logw, law) -> np.ndarray:
        g = self._genie
        m, k = b.shape
        out = np.empty((y.size, m))
        rows = max(1, _BLOCK // (m * k))
        for start in range(0, y.size, rows):
            sl = slice(start, start + rows)
            rot = np.exp(1j * mean[sl])[:, None, None]
            z = g.mu * rot * b + g.nu * np.conj(rot * b) + g.c  # (n, M, K)
            yy = y[sl, None, None]
            if self.adc is None:
                ll = law.log_pdf(yy.real - z.real) + law.log_pdf(yy.imag - z.imag)
            else:
                ll = 0.0
                for dim, part, zpart in ((0, yy.real, z.real), (1, yy.imag, z.imag)):
                    lo, hi = self.adc.cells(part, dim)
                    ll = ll + _log_interval(law, lo - zpart, hi - zpart)
            out[sl] = logsumexp(ll + logw, axis=2)
        return out


def transmit_stream(
    link: StructuredLink, x, seed: int, start: int = 0, block: int = 4096
) -> np.ndarray:
    """Received samples of items ``start .. start + len(x)`` of a symbol stream.

    The stream is cut into blocks of ``block`` items at fixed item indices; block
    ``k`` is drawn with the stages' state reset and the generator seeded
    ``[seed, k]``. Every stage acts sample by sample and the draws do not depend on
    the symbols, so an item's received sample depends only on its symbol, its index
    and ``seed``: a GNU Radio block that is handed the stream in arbitrary pieces
    (``gnuradio.wigenai.structured_channel``) gives exactly the samples of one call
    on the whole stream. (State restarts at each block: an untracked Wiener walk, a
    carrier offset's phase ramp.)

    Parameters
    ----------
    link : StructuredLink
        The link; its state and generator are reset for every block.
    x : array of complex
        Unit-energy symbols.
    seed : int
        Stream seed (>= 0).
    start : int
        Index of ``x[0]`` in the stream.
    block : int
        Items per block (>= 1).
    """
    if isinstance(seed, bool) or int(seed) != seed or seed < 0:
        raise ValueError(f"seed: expected an integer >= 0, got {seed!r}")
    if isinstance(block, bool) or int(block) != block or block < 1:
        raise ValueError(f"block: expected an integer >= 1, got {block!r}")
    x = _as_complex(x).reshape(-1)
    out = np.empty(x.size, dtype=np.complex128)
    pos = 0
    while pos < x.size:
        k, off = divmod(int(start) + pos, int(block))
        n = min(block - off, x.size - pos)
        full = np.zeros(block, dtype=np.complex128)
        full[off : off + n] = x[pos : pos + n]
        link.reset([int(seed), k])
        out[pos : pos + n] = link.transmit(full)[0][off : off + n]
        pos += n
    return out
