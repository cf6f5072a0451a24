"""The impaired link of case study 1: hardware distortion, finite precision, noise.

Signal model, per complex symbol ``x`` of unit average energy (``P = 1``)::

    x_q = Q_dac(x)                         transmit DAC, ``quant_bits`` per I and Q
    u   = h * (x_q + eta_t) + eta_r + n    Bjornson et al. 2014 transceiver model
    y   = Q_adc(u)                         receive ADC, ``adc_bits``, with AGC

with ``eta_t ~ CN(0, kappa_t^2 P)``, ``eta_r ~ CN(0, kappa_r^2 P |h|^2)`` and ``n``
either circular AWGN or Laplacian noise of the same variance ``N0`` (independent
Laplacian on I and Q, each of variance ``N0 / 2``). ``h = 1`` unless Rayleigh fading is
enabled, then ``h ~ CN(0, 1)`` i.i.d. per symbol and known to the receiver.

SNR convention: ``snr_db`` is Es/N0 per complex symbol with Es = P = 1, so
``N0 = 10 ** (-snr_db / 10)``; the distortion terms are not counted in N0.

Quantizers are uniform mid-rise on each real dimension: ``2 ** bits`` levels over
``[-A, A]`` with step ``2 A / 2 ** bits``, values outside saturating at the outer level.
The DAC full scale ``A`` is ``dac_full_scale`` (1.0 by default, the peak of a unit-power
signal on one dimension). The ADC has an automatic gain: its full scale is
``adc_loading`` times the expected rms of one real dimension of ``u``, computed from the
link parameters, and its output is scaled back to the input's units.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

import numpy as np
from scipy.special import log_ndtr

NOISE_LAWS = ("awgn", "laplace")

# Smallest probability used for a quantizer cell, so that the log-likelihood of a cell
# the model gives (numerically) zero mass stays finite and ranks below any real cell.
_LOG_TINY = math.log(1e-300)


def check_snr_db(snr_db: float, name: str = "snr_db") -> float:
    """Return ``snr_db`` as float if it is finite, else raise ``ValueError``."""
    try:
        value = float(snr_db)
    except (TypeError, ValueError):
        raise ValueError(f"{name}: expected a number, got {snr_db!r}") from None
    if not math.isfinite(value) or abs(value) > 3000:
        raise ValueError(f"{name}: must be finite (|snr_db| <= 3000), got {snr_db!r}")
    return value


def check_bits(bits: int, name: str) -> int:
    """Quantizer resolution: an integer in 0..16, 0 meaning no quantizer."""
    ok = isinstance(bits, (int, float, np.integer)) and not isinstance(bits, bool)
    if not ok or int(bits) != bits or not 0 <= bits <= 16:
        raise ValueError(f"{name}: expected an integer in 0..16 (0 = off), got {bits!r}")
    return int(bits)


def check_nonnegative(value: float, name: str) -> float:
    try:
        value_f = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name}: expected a number, got {value!r}") from None
    if not math.isfinite(value_f) or value_f < 0:
        raise ValueError(f"{name}: must be finite and >= 0, got {value!r}")
    return value_f


def check_positive(value: float, name: str) -> float:
    value_f = check_nonnegative(value, name)
    if value_f == 0:
        raise ValueError(f"{name}: must be > 0, got {value!r}")
    return value_f


def check_noise(noise: str) -> str:
    name = str(noise).lower()
    if name not in NOISE_LAWS:
        raise ValueError(f"noise: unknown law {noise!r}, expected one of {NOISE_LAWS}")
    return name


def quantize(v: np.ndarray, bits: int, full_scale: float) -> np.ndarray:
    """Uniform mid-rise quantizer on I and Q; ``bits == 0`` returns ``v`` unchanged."""
    if bits == 0:
        return v
    step = 2.0 * full_scale / (1 << bits)
    top = full_scale - step / 2

    def q(r):
        return np.clip(step * (np.floor(r / step) + 0.5), -top, top)

    v = np.asarray(v)
    if np.iscomplexobj(v):
        return q(v.real) + 1j * q(v.imag)
    return q(v)


@dataclass
class LinkParams:
    """Parameters of the impaired link; see the module docstring for the model."""

    snr_db: float
    kappa_t: float = 0.0
    kappa_r: float = 0.0
    quant_bits: int = 0
    adc_bits: int = 0
    noise: str = "awgn"
    fading: bool = False
    dac_full_scale: float = 1.0
    adc_loading: float = 3.0

    def __post_init__(self):
        self.snr_db = check_snr_db(self.snr_db)
        self.kappa_t = check_nonnegative(self.kappa_t, "kappa_t")
        self.kappa_r = check_nonnegative(self.kappa_r, "kappa_r")
        self.quant_bits = check_bits(self.quant_bits, "quant_bits")
        self.adc_bits = check_bits(self.adc_bits, "adc_bits")
        self.noise = check_noise(self.noise)
        self.fading = bool(self.fading)
        self.dac_full_scale = check_positive(self.dac_full_scale, "dac_full_scale")
        self.adc_loading = check_positive(self.adc_loading, "adc_loading")

    @property
    def n0(self) -> float:
        """Noise power per complex symbol (Es = 1)."""
        return 10.0 ** (-self.snr_db / 10.0)

    @property
    def adc_full_scale(self) -> float:
        """ADC full scale per real dimension, set by the automatic gain."""
        power = 1.0 + self.kappa_t**2 + self.kappa_r**2 + self.n0
        return self.adc_loading * math.sqrt(power / 2.0)

    def replace(self, **changes) -> LinkParams:
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        values.update(changes)
        return LinkParams(**values)


class ImpairedChannel:
    """Seeded, vectorised simulator of the impaired link and its exact likelihood.

    Parameters
    ----------
    params : LinkParams
        The link; ``params.snr_db`` may be changed later with :meth:`set_snr_db`.
    seed : int or None
        Seed of the channel's own random generator.
    """

    def __init__(self, params: LinkParams, seed: int | None = None):
        self.params = params
        self.rng = np.random.default_rng(seed)

    def set_snr_db(self, snr_db: float) -> None:
        self.params = self.params.replace(snr_db=snr_db)

    def dac(self, x: np.ndarray) -> np.ndarray:
        """The transmit DAC alone: what the link actually puts on the air for ``x``."""
        p = self.params
        return quantize(
            np.asarray(x, dtype=np.complex128), p.quant_bits, p.dac_full_scale
        )

    def _complex_normal(self, n: int, variance) -> np.ndarray:
        scale = np.sqrt(np.asarray(variance) / 2.0)
        return scale * (self.rng.standard_normal(n) + 1j * self.rng.standard_normal(n))

    def noise(self, n: int) -> np.ndarray:
        """``n`` samples of the link's additive noise (variance N0 per complex sample)."""
        p = self.params
        if p.noise == "awgn":
            return self._complex_normal(n, p.n0)
        b = math.sqrt(p.n0 / 4.0)  # Laplace(b) has variance 2 b^2 = N0 / 2 per dimension
        return self.rng.laplace(0.0, b, n) + 1j * self.rng.laplace(0.0, b, n)

    def transmit(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Send unit-energy symbols ``x`` through the link.

        Returns
        -------
        y : complex128 array, same shape as ``x``
            The received (and, with ``adc_bits``, quantized) samples.
        h : complex128 array
            The channel gain per symbol (all ones without fading).
        """
        p = self.params
        x = np.asarray(x, dtype=np.complex128).reshape(-1)
        n = x.size
        h = self._complex_normal(n, 1.0) if p.fading else np.ones(n, np.complex128)

        u = h * (self.dac(x) + self._complex_normal(n, p.kappa_t**2))
        u = u + self._complex_normal(n, p.kappa_r**2 * np.abs(h) ** 2)
        u = u + self.noise(n)
        return quantize(u, p.adc_bits, p.adc_full_scale), h

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return self.transmit(x)[0]

    # ----- exact likelihood -----------------------------------------------------------

    def log_likelihoods(
        self, y: np.ndarray, candidates: np.ndarray, h: np.ndarray | None = None
    ) -> np.ndarray:
        """``log p(y_n | x_m)`` under the true link law, shape ``(N, M)``.

        ``candidates`` are nominal symbols; the DAC is applied to them as the link
        does. With ``adc_bits`` the result is the log-probability of the received
        quantizer cell on I and Q, otherwise the log-density of ``y``.
        """
        p = self.params
        y = np.asarray(y, dtype=np.complex128).reshape(-1, 1)
        h = np.ones(y.shape, np.complex128) if h is None else np.reshape(h, (-1, 1))
        mean = h * self.dac(np.asarray(candidates)).reshape(1, -1)
        dist_var = (p.kappa_t**2 + p.kappa_r**2) * np.abs(h) ** 2 / 2.0
        law = _DimensionLaw(dist_var, p.n0, p.noise)
        if p.adc_bits == 0:
            return law.log_pdf(y.real - mean.real) + law.log_pdf(y.imag - mean.imag)
        step = 2.0 * p.adc_full_scale / (1 << p.adc_bits)
        return law.log_cell(y.real, mean.real, step, p.adc_full_scale) + law.log_cell(
            y.imag, mean.imag, step, p.adc_full_scale
        )


class _DimensionLaw:
    """Law of one real dimension of ``u - h x_q``: Gaussian distortion plus noise."""

    def __init__(self, dist_var: np.ndarray, n0: float, noise: str):
        if noise == "awgn":
            self.s = np.sqrt(dist_var + n0 / 2.0)
            self.b = None
        else:
            self.s = np.sqrt(dist_var)
            self.b = math.sqrt(n0 / 4.0)
            self.pure_laplace = bool(np.all(self.s < 1e-9 * self.b))

    def log_pdf(self, z: np.ndarray) -> np.ndarray:
        s, b = self.s, self.b
        if b is None:
            return -0.5 * (z / s) ** 2 - np.log(s) - 0.5 * math.log(2 * math.pi)
        if self.pure_laplace:
            return -np.abs(z) / b - math.log(2 * b)
        c = s**2 / (2 * b**2)
        lo = c - z / b + log_ndtr(z / s - s / b)
        hi = c + z / b + log_ndtr(-z / s - s / b)
        return np.logaddexp(lo, hi) - math.log(2 * b)

    def _log_cdf(self, z: np.ndarray) -> np.ndarray:
        """log P(Z <= z), accurate for z <= 0 (use symmetry for the upper side)."""
        s, b = self.s, self.b
        if b is None:
            return log_ndtr(z / s)
        if self.pure_laplace:
            tail = 0.5 * np.exp(-np.abs(z) / b)
            return np.where(z <= 0, np.log(np.maximum(tail, 1e-300)), np.log1p(-tail))
        c = s**2 / (2 * b**2)
        finite = np.isfinite(z)
        zf = np.where(finite, z, 0.0)
        cdf = (
            np.exp(log_ndtr(zf / s))
            - 0.5 * np.exp(c - zf / b + log_ndtr(zf / s - s / b))
            + 0.5 * np.exp(c + zf / b + log_ndtr(-zf / s - s / b))
        )
        cdf = np.where(finite, cdf, (z > 0).astype(float))
        with np.errstate(divide="ignore"):
            return np.log(np.clip(cdf, 0.0, 1.0))

    def log_cell(self, yq, mean, step: float, full_scale: float) -> np.ndarray:
        """log P(the quantizer outputs ``yq`` | mean) for a mid-rise quantizer."""
        k = np.floor(yq / step)  # yq = step * (k + 1/2)
        lo = np.where(yq <= -full_scale + step, -np.inf, k * step) - mean
        hi = np.where(yq >= full_scale - step, np.inf, (k + 1) * step) - mean
        upper = lo > 0  # the cell lies right of the mean: use P = F(-lo) - F(-hi)
        a = np.where(upper, -hi, lo)
        bnd = np.where(upper, -lo, hi)
        log_fb = self._log_cdf(bnd)
        log_fa = self._log_cdf(a)
        with np.errstate(divide="ignore", invalid="ignore"):
            out = log_fb + np.log1p(-np.exp(np.minimum(log_fa - log_fb, 0.0)))
        return np.maximum(np.nan_to_num(out, nan=_LOG_TINY, neginf=_LOG_TINY), _LOG_TINY)
