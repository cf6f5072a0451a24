"""Probabilistic constellation shaping (case study 2) and its references.

A shaped constellation is a square QAM geometry (:class:`wigenai.constellation.
Constellation`) with a pmf over its points. Transmit power is fixed: the points are
scaled so that the average symbol energy *under the pmf* is 1, so shaping trades
outer points for a larger minimum distance, never extra power. SNR is Es/N0 per
complex symbol with that unit energy, ``N0 = 10 ** (-snr_db / 10)``.

Noise laws (the same as :mod:`wigenai.channel`): circular AWGN, or independent
Laplacian noise on I and Q with the same total variance N0. Because Gaussian noise is
the worst additive noise of a given power, ``log2(1 + SNR)`` is the capacity of the
AWGN link but only a lower bound on the capacity of the Laplacian one.

What is here
============

* pmfs: :func:`uniform_pmf`, :func:`maxwell_boltzmann` (``p ~ exp(-nu |x|^2)``, nu
  optimized per SNR by :func:`optimize_mb`), :func:`blahut_arimoto` (the optimal pmf
  on the fixed geometry, its scale included), and :class:`DdpmShaper`, the paper's
  shaper: symbols with synthetic noise at the link SNR, reverse diffusion, generated
  symbols snapped to the constellation, the pmf from their counts.
* rates: :func:`mutual_information_mc` (Monte Carlo with the true law or a
  mismatched one, 95 % interval, any pmf, any points) and
  :func:`product_mi_quadrature` (numerical integration, for the product pmfs that
  MB, BA and uniform signalling are: deterministic, used for optimization and as the
  independent check of the Monte Carlo estimate).

Product structure. Square QAM is PAM x PAM, and both noise laws are independent on I
and Q. For a pmf that is a product of the same PAM pmf on each dimension the mutual
information is twice that of one dimension at half the power and half the noise,
and the optimal pmf (for a total power constraint) is such a product: MB and BA are
therefore computed on one dimension, exactly, and expanded to the 2-D pmf.
"""

from __future__ import annotations

import logging
import math

import numpy as np
from scipy.optimize import minimize_scalar
from scipy.special import logsumexp

from .channel import ImpairedChannel, LinkParams, check_noise, check_snr_db
from .constellation import Constellation, check_square_order
from .matcher import check_pmf
from .metrics import entropy_bits, information_density, mean_with_ci

log = logging.getLogger(__name__)

SHAPERS = ("uniform", "mb", "ba", "ddpm", "stark")
# pmf sources a QAM transmitter can use (the benchmark also moves the points).
PMF_SOURCES = ("uniform", "mb", "ba", "ddpm", "file", "custom")
PMF_FORMAT = "wigenai-pmf"


# ----- pmfs and geometry --------------------------------------------------------------


def uniform_pmf(order: int) -> np.ndarray:
    """The uniform pmf over ``order`` points."""
    order = check_square_order(order)
    return np.full(order, 1.0 / order)


def normalize_points(points: np.ndarray, pmf: np.ndarray) -> np.ndarray:
    """``points`` scaled to unit average energy under ``pmf``."""
    points = np.asarray(points, dtype=np.complex128)
    energy = float(np.sum(pmf * np.abs(points) ** 2))
    if not energy > 0:
        raise ValueError("pmf: puts all its mass on the origin (zero energy)")
    return points / math.sqrt(energy)


def maxwell_boltzmann(points: np.ndarray, nu: float) -> np.ndarray:
    """Maxwell-Boltzmann pmf ``p(x) ~ exp(-nu |x|^2)`` over ``points``.

    ``nu`` is in units of the points as given (use unit-energy uniform points);
    ``nu = 0`` is uniform signalling.
    """
    if not math.isfinite(nu) or nu < 0:
        raise ValueError(f"nu: must be finite and >= 0, got {nu!r}")
    energy = np.abs(np.asarray(points)) ** 2
    logits = -nu * (energy - energy.min())
    p = np.exp(logits)
    return p / p.sum()


def _level_indices(constellation: Constellation) -> tuple[np.ndarray, np.ndarray]:
    """Per point, the index of its I level and of its Q level in ``levels``."""
    levels = constellation.levels
    i_idx = np.searchsorted(levels, constellation.points.real - 1e-12)
    q_idx = np.searchsorted(levels, constellation.points.imag - 1e-12)
    return i_idx, q_idx


def product_pmf(constellation: Constellation, pam_pmf: np.ndarray) -> np.ndarray:
    """2-D pmf of the points when I and Q levels are drawn independently from
    ``pam_pmf`` (one entry per level of ``constellation.levels``)."""
    i_idx, q_idx = _level_indices(constellation)
    p = np.asarray(pam_pmf, dtype=np.float64)
    return p[i_idx] * p[q_idx]


def pam_marginals(constellation: Constellation, pmf: np.ndarray):
    """The pmfs of the I level and of the Q level under a 2-D ``pmf``."""
    i_idx, q_idx = _level_indices(constellation)
    side = constellation.side
    return (
        np.bincount(i_idx, weights=pmf, minlength=side),
        np.bincount(q_idx, weights=pmf, minlength=side),
    )


def is_product(constellation: Constellation, pmf: np.ndarray, tol=1e-9) -> bool:
    """Whether ``pmf`` is the product of one PAM pmf on I and the same on Q."""
    p_i, p_q = pam_marginals(constellation, pmf)
    return bool(
        np.allclose(p_i, p_q, atol=tol)
        and np.allclose(product_pmf(constellation, p_i), pmf, atol=tol)
    )


def capacity_bits(snr_db) -> np.ndarray | float:
    """``log2(1 + SNR)``: AWGN capacity, a lower bound for other noise of that power."""
    value = np.log2(1.0 + 10.0 ** (np.asarray(snr_db, dtype=float) / 10.0))
    return float(value) if value.ndim == 0 else value


# ----- one real dimension: exact rates by quadrature ----------------------------------


class _PamChannel:
    """One real dimension: levels, noise law of variance ``N0 / 2``, a y grid.

    The grid spans the levels plus 12 noise standard deviations with a spacing of a
    tenth of one; on it ``dens[m, j]`` is the noise density of ``y_j - level_m`` and
    ``weight`` the trapezoid weight, so integrals over y are sums over j.
    """

    def __init__(self, levels: np.ndarray, snr_db: float, noise: str):
        self.levels = np.asarray(levels, dtype=np.float64)
        n0 = 10.0 ** (-snr_db / 10.0)
        sigma = math.sqrt(n0 / 2.0)
        step = sigma / 10.0
        lo, hi = self.levels.min() - 12 * sigma, self.levels.max() + 12 * sigma
        count = int(math.ceil((hi - lo) / step)) + 1
        self.y = np.linspace(lo, hi, count)
        self.weight = np.full(count, self.y[1] - self.y[0])
        self.weight[[0, -1]] *= 0.5
        self.log_dens = _log_noise_density(
            self.y[None, :] - self.levels[:, None], n0, noise
        )
        self.dens = np.exp(self.log_dens)
        # Renormalize each row on the grid: the tails beyond 12 sigma are below 1e-30.
        self.dens /= (self.dens * self.weight).sum(axis=1, keepdims=True)
        self.log_dens = np.log(np.maximum(self.dens, 1e-300))

    def divergences(self, pmf: np.ndarray, log_metric: np.ndarray | None = None):
        """Per level ``E[log q(y|a) - log sum_a' p(a') q(y|a')]`` in nats.

        ``log_metric``: log-likelihoods the receiver uses (default: the true law).
        """
        metric = self.log_dens if log_metric is None else log_metric
        with np.errstate(divide="ignore"):
            log_p = np.log(pmf)
        log_q = logsumexp(metric + log_p[:, None], axis=0)
        return ((metric - log_q[None, :]) * self.dens * self.weight).sum(axis=1)

    def mi_bits(self, pmf: np.ndarray, log_metric: np.ndarray | None = None) -> float:
        d = self.divergences(pmf, log_metric)
        return float(np.sum(pmf * d) / math.log(2.0))


def _log_noise_density(z: np.ndarray, n0: float, noise: str) -> np.ndarray:
    """log density of one real dimension of the noise (variance ``N0 / 2``)."""
    if noise == "awgn":
        var = n0 / 2.0
        return -0.5 * z**2 / var - 0.5 * math.log(2 * math.pi * var)
    b = math.sqrt(n0 / 4.0)
    return -np.abs(z) / b - math.log(2 * b)


def _pam_setup(order: int, snr_db: float, noise: str, pam_pmf: np.ndarray):
    constellation = Constellation(check_square_order(order))
    p2 = product_pmf(constellation, pam_pmf)
    scale = 1.0 / math.sqrt(np.sum(p2 * np.abs(constellation.points) ** 2))
    return constellation, _PamChannel(constellation.levels * scale, snr_db, noise)


def product_mi_quadrature(
    order: int,
    pam_pmf: np.ndarray,
    snr_db: float,
    noise: str = "awgn",
    mismatched: bool = False,
) -> float:
    """I(X;Y) in bits of a product pmf on square QAM, by numerical integration.

    ``pam_pmf``: pmf of the levels of one dimension (``sqrt(order)`` entries); the
    points are scaled to unit energy under the 2-D pmf. With ``mismatched`` the
    receiver assumes Gaussian noise of the same variance (the rate achievable by a
    Gaussian-metric receiver on the true noise), which only differs from the true MI
    under Laplacian noise.
    """
    snr_db = check_snr_db(snr_db)
    noise = check_noise(noise)
    pam_pmf = check_pmf(pam_pmf, int(round(math.sqrt(order))))
    _, channel = _pam_setup(order, snr_db, noise, pam_pmf)
    metric = None
    if mismatched:
        n0 = 10.0 ** (-snr_db / 10.0)
        metric = _log_noise_density(
            channel.y[None, :] - channel.levels[:, None], n0, "awgn"
        )
    return 2.0 * channel.mi_bits(pam_pmf, metric)


# ----- Maxwell-Boltzmann --------------------------------------------------------------


def optimize_mb(order: int, snr_db: float, noise: str = "awgn", nu_max: float = 30.0):
    """The Maxwell-Boltzmann pmf with the best ``nu`` for this SNR and noise.

    ``nu`` (>= 0, in units of the unit-energy uniform points) is searched on a
    coarse grid and refined by bounded Brent on the exact (quadrature) MI.
    Returns ``(pmf (order,), nu, mi_bits)``.
    """
    constellation = Constellation(check_square_order(order))
    levels = constellation.levels

    def mi_of(nu):
        pam = maxwell_boltzmann(levels, nu)
        return product_mi_quadrature(order, pam, snr_db, noise)

    grid = np.concatenate([[0.0], np.geomspace(1e-3, nu_max, 24)])
    values = np.array([mi_of(nu) for nu in grid])
    best = int(np.argmax(values))
    lo = grid[max(best - 1, 0)]
    hi = grid[min(best + 1, grid.size - 1)]
    nu, mi = grid[best], values[best]
    if hi > lo:
        res = minimize_scalar(
            lambda v: -mi_of(v),
            bounds=(lo, hi),
            method="bounded",
            options={"xatol": 1e-5},
        )
        if -res.fun > mi:
            nu, mi = float(res.x), float(-res.fun)
    pmf = product_pmf(constellation, maxwell_boltzmann(levels, nu))
    return pmf, float(nu), float(mi)


# ----- Blahut-Arimoto on the fixed geometry -----------------------------------------


def _ba_fixed_scale(
    channel: _PamChannel, p0: np.ndarray, power: float, iters: int, tol: float
) -> tuple[np.ndarray, float]:
    """Capacity-cost Blahut-Arimoto on one dimension at a fixed scale of the levels.

    Each iteration multiplies ``p`` by ``exp(D)`` (the divergence of each level's
    output law from the output mixture) and then tilts it by ``exp(-lam a^2)`` with
    the smallest ``lam >= 0`` that keeps the average power at most ``power``.
    Stops when BA's bound ``max D - sum p D`` (the gap to the optimum at this scale,
    nats) is below ``tol``. Returns the pmf and its MI in bits (one dimension).
    """
    cost = channel.levels**2
    p, lam = p0.copy(), 0.0
    for _ in range(iters):
        d = channel.divergences(p)
        if np.max(d) - np.sum(p * d) < tol:
            break
        p, lam = _tilt_to_power(np.log(np.maximum(p, 1e-300)) + d, cost, power, lam)
    return p, float(np.sum(p * channel.divergences(p)) / math.log(2.0))


def _tilt_to_power(
    log_p: np.ndarray, cost: np.ndarray, power: float, lam: float = 0.0
) -> tuple[np.ndarray, float]:
    """Normalized ``exp(log_p - lam cost)`` with the smallest ``lam >= 0`` such that
    ``sum p cost <= power``; Newton's method on ``lam`` from the given start (the
    average cost falls monotonically with ``lam``), with bisection as a safeguard.
    Returns the pmf and ``lam``."""

    def tilted(lam_):
        z = log_p - lam_ * cost
        q = np.exp(z - z.max())
        return q / q.sum()

    p = tilted(0.0)
    if np.sum(p * cost) <= power:
        return p, 0.0
    lo, hi = 0.0, math.inf
    lam = max(lam, 0.0)
    for _ in range(100):
        p = tilted(lam)
        mean = np.sum(p * cost)
        excess = mean - power
        if abs(excess) < 1e-12 * power:
            break
        if excess > 0:
            lo = lam
        else:
            hi = lam
        var = np.sum(p * cost**2) - mean**2
        step = lam + excess / var if var > 0 else math.inf
        if not lo < step < hi:  # Newton left the bracket: bisect (or grow)
            step = 0.5 * (lo + hi) if math.isfinite(hi) else 2.0 * lo + 1.0
        lam = step
    if np.sum(p * cost) > power * (1 + 1e-9):
        p = tilted(hi) if math.isfinite(hi) else p
    return p, lam


def blahut_arimoto(
    order: int,
    snr_db: float,
    noise: str = "awgn",
    iters: int = 2000,
    tol: float = 1e-8,
) -> tuple[np.ndarray, float, float]:
    """The rate-optimal pmf on the square QAM geometry at this SNR and noise.

    The geometry is fixed up to its scale: for each scale of the PAM levels,
    capacity-cost Blahut-Arimoto finds the best pmf under the power constraint
    (average energy 1 per complex symbol); the scale is searched by golden section
    over a bracket around the scale of the best Maxwell-Boltzmann pmf, and over the
    whole range if the optimum lies at the bracket's edge. Computed on one dimension
    (see the module docstring). Returns ``(pmf (order,), mi_bits, scale)``;
    ``scale`` multiplies the unit-energy uniform points.
    """
    snr_db = check_snr_db(snr_db)
    noise = check_noise(noise)
    constellation = Constellation(check_square_order(order))
    levels = constellation.levels
    power = 0.5  # per real dimension
    # Scales from "all mass on the outer levels" to "all mass on the inner ones".
    s_min = math.sqrt(power) / np.abs(levels).max()
    s_max = math.sqrt(power) / np.abs(levels).min()
    mb, _, _ = optimize_mb(order, snr_db, noise)
    mb_pam, _ = pam_marginals(constellation, mb)
    s_mb = 1.0 / math.sqrt(np.sum(mb * np.abs(constellation.points) ** 2))
    cache: dict[float, tuple[np.ndarray, float]] = {}

    def solve(scale: float) -> float:
        if scale not in cache:
            channel = _PamChannel(levels * scale, snr_db, noise)
            log_start = np.log(np.maximum(mb_pam, 1e-300))
            p0, _ = _tilt_to_power(log_start, (levels * scale) ** 2, power)
            cache[scale] = _ba_fixed_scale(channel, p0, power, iters, tol)
        return cache[scale][1]

    def golden(a: float, b: float, rounds: int) -> None:
        ratio = (math.sqrt(5) - 1) / 2
        c, d = b - ratio * (b - a), a + ratio * (b - a)
        for _ in range(rounds):
            if solve(c) >= solve(d):
                b, d = d, c
                c = b - ratio * (b - a)
            else:
                a, c = c, d
                d = a + ratio * (b - a)

    a, b = max(s_min, s_mb / 1.1), min(s_max, s_mb * 1.1)
    golden(a, b, 14)
    best = max(cache, key=lambda k: cache[k][1])
    if best - a < 0.02 * (b - a) or b - best < 0.02 * (b - a):
        golden(s_min, s_max, 24)
        best = max(cache, key=lambda k: cache[k][1])
    pam, mi_1d = cache[best]
    return product_pmf(constellation, pam), 2.0 * mi_1d, float(best)


# ----- Monte Carlo mutual information (any pmf, any points) ---------------------------


def mutual_information_mc(
    points: np.ndarray,
    pmf: np.ndarray,
    snr_db: float,
    noise: str = "awgn",
    symbols: int = 200_000,
    seed: int | None = 0,
    mismatched: bool = False,
    chunk: int = 1 << 15,
) -> tuple[float, float]:
    """I(X;Y) in bits with a 95 % half-width, by Monte Carlo with the true law.

    Parameters
    ----------
    points : complex array (M,)
        Constellation points; scaled here to unit energy under ``pmf``.
    pmf : array (M,)
        Input distribution.
    snr_db : float
        Es/N0 per complex symbol, dB.
    noise : {"awgn", "laplace"}
        Noise law, of variance N0 per complex sample either way.
    symbols : int
        Samples drawn (from ``pmf``, then through the noise).
    seed : int or None
    mismatched : bool
        Score with a Gaussian likelihood of the same variance instead of the true
        one: the rate of a receiver that assumes Gaussian noise (GMI at s = 1, a lower
        bound on what that receiver achieves).
    """
    snr_db = check_snr_db(snr_db)
    noise = check_noise(noise)
    points = np.asarray(points, dtype=np.complex128).reshape(-1)
    pmf = check_pmf(pmf, points.size)
    if int(symbols) < 2:
        raise ValueError(f"symbols: need at least 2, got {symbols!r}")
    tx = normalize_points(points, pmf)
    rng = np.random.default_rng(seed)
    sent = rng.choice(points.size, size=int(symbols), p=pmf)
    channel = ImpairedChannel(LinkParams(snr_db=snr_db, noise=noise), seed=rng)
    y = tx[sent] + channel.noise(sent.size)
    scorer = channel
    if mismatched:
        scorer = ImpairedChannel(LinkParams(snr_db=snr_db, noise="awgn"))
    with np.errstate(divide="ignore"):
        log_prior = np.log(pmf)
    density = np.empty(sent.size)
    for lo in range(0, sent.size, chunk):
        part = slice(lo, lo + chunk)
        log_lik = scorer.log_likelihoods(y[part], tx)
        density[part] = information_density(log_lik, sent[part], log_prior)
    return mean_with_ci(density)


def shaping_summary(constellation: Constellation, pmf: np.ndarray) -> dict:
    """Entropy, energy ratio of outer to inner points and whether ``pmf`` is a
    product, for reports."""
    energy = np.abs(constellation.points) ** 2
    return {
        "entropy_bits": entropy_bits(pmf),
        "peak_to_average": float(
            np.max(energy[pmf > 0]) / np.sum(pmf * energy) if np.any(pmf > 0) else 0
        ),
        "product": is_product(constellation, pmf, tol=1e-6),
    }


# ----- the paper's DDPM shaper ---------------------------------------------------------


class DdpmShaper:
    """Case study 2 of the paper: a pmf over the constellation from reverse diffusion.

    Procedure (the paper's): draw constellation symbols uniformly, add synthetic
    Gaussian noise whose power follows the link SNR (the diffusion step whose noise
    level matches Es/N0, see ``DiffusionSchedule.start_step``), run the reverse
    chain of the shaper model from there, snap each generated symbol to the nearest
    constellation point and take the relative counts as the pmf.

    What comes out depends on the sampler. Ancestral sampling draws from the
    model's posterior, whose marginal is the training distribution: a perfect model
    returns the uniform pmf, and the departures are model error. Deterministic DDIM
    with few calls moves each symbol to the chain's x0 estimate, which at low SNR
    sits near the centre of the posterior: the snapped pmf then favours the inner
    points. ``wigenai mi`` measures both; neither is an optimization of the rate.

    Parameters
    ----------
    path : str
        ONNX model with contract kind ``shaper`` (``wigenai train shaper``).
    sampler : {"ddpm", "ddim"}
        Reverse chain: ancestral (the paper's DDPM, default) or DDIM.
    steps : int
        DDIM network calls (``ddim`` only), 1..T.
    symbols : int
        Generated symbols per pmf estimate.
    threads, batch_size : int
        onnxruntime settings.
    seed : int
        Seeds the symbols, the synthetic noise and the ancestral noise, so the same
        call gives the same pmf (a transmitter and a receiver can both derive it).
    """

    def __init__(
        self,
        path: str,
        sampler: str = "ddpm",
        steps: int = 2,
        symbols: int = 20000,
        threads: int = 2,
        batch_size: int = 65536,
        seed: int = 0,
    ):
        from .model_contract import load_contract
        from .ort_sampler import SAMPLERS, EpsilonSession

        self.contract = load_contract(path, kind="shaper")
        self.schedule = self.contract.diffusion()
        self.sampler = str(sampler).lower()
        if self.sampler not in SAMPLERS:
            raise ValueError(f"sampler: unknown {sampler!r}, expected one of {SAMPLERS}")
        if (
            isinstance(steps, bool)
            or int(steps) != steps
            or not 1 <= steps <= self.schedule.T
        ):
            raise ValueError(f"steps: expected 1..{self.schedule.T}, got {steps!r}")
        if isinstance(symbols, bool) or int(symbols) != symbols or symbols < 1:
            raise ValueError(f"symbols: expected an integer >= 1, got {symbols!r}")
        self.steps, self.symbols, self.seed = int(steps), int(symbols), int(seed)
        self.network = EpsilonSession(path, threads, batch_size)
        self.points = self.contract.points
        self.order = self.points.size
        lo, hi = self.contract.training_link.get("snr_db_range", [-math.inf, math.inf])
        self.snr_range = (float(lo), float(hi))
        self.path = str(path)
        self._warned = False

    def clamp_snr(self, snr_db: float) -> float:
        """``snr_db`` limited to the model's trained range; warns once when it clamps."""
        snr_db = check_snr_db(snr_db)
        lo, hi = self.snr_range
        clamped = min(max(snr_db, lo), hi)
        if clamped != snr_db and not self._warned:
            log.warning(
                "%s: snr_db %g is outside the model's trained range %g..%g dB; "
                "using %g dB (said once)",
                self.path,
                snr_db,
                lo,
                hi,
                clamped,
            )
            self._warned = True
        return clamped

    def generate(self, snr_db: float) -> tuple[np.ndarray, np.ndarray]:
        """Generated symbols (complex, unit-energy units) and the indices they snap to."""
        from .ort_sampler import ddim_chain, ddpm_chain

        snr_db = self.clamp_snr(snr_db)
        rng = np.random.default_rng(self.seed)
        t_start = self.schedule.start_step(10.0 ** (snr_db / 10.0))
        x0 = self.points[rng.integers(0, self.order, self.symbols)]
        scale = self.schedule.input_scale
        ab = self.schedule.alpha_bar[t_start]
        clean = np.stack([x0.real, x0.imag], axis=1) * scale
        x_t = math.sqrt(ab) * clean + math.sqrt(1 - ab) * rng.standard_normal(clean.shape)
        if self.sampler == "ddim":
            out = ddim_chain(self.network.eps, self.schedule, x_t, t_start, self.steps)
        else:
            noise = lambda t: rng.standard_normal(clean.shape)  # noqa: E731
            out = ddpm_chain(self.network.eps, self.schedule, x_t, t_start, noise)
        generated = (out[:, 0] + 1j * out[:, 1]) / scale
        generated = np.nan_to_num(generated)
        distance = np.abs(generated[:, None] - self.points[None, :])
        return generated, np.argmin(distance, axis=1)

    def pmf(self, snr_db: float) -> np.ndarray:
        """The shaping pmf at ``snr_db``: relative counts of the snapped symbols."""
        _, index = self.generate(snr_db)
        counts = np.bincount(index, minlength=self.order).astype(np.float64)
        return counts / counts.sum()


# ----- one entry point for the blocks: a pmf from a named source ----------------------


def pmf_for(
    source: str,
    order: int,
    snr_db: float,
    noise: str = "awgn",
    model_file: str = "",
    pmf_file: str = "",
    pmf=None,
    seed: int = 0,
    shaper: DdpmShaper | None = None,
) -> np.ndarray:
    """The pmf of a named ``source`` for square QAM of ``order`` points at ``snr_db``.

    ``uniform``; ``mb`` and ``ba`` (optimized for ``noise``); ``ddpm`` (a
    :class:`DdpmShaper` on ``model_file``, or the given ``shaper``, seeded by
    ``seed``); ``file`` (a JSON file written by :func:`save_pmf`); ``custom`` (the
    list ``pmf``). Every pmf is validated (:func:`check_pmf`) against ``order``.
    """
    order = check_square_order(order)
    name = str(source).lower()
    if name == "uniform":
        return uniform_pmf(order)
    if name == "mb":
        return optimize_mb(order, snr_db, noise)[0]
    if name == "ba":
        return blahut_arimoto(order, snr_db, noise)[0]
    if name == "ddpm":
        if shaper is None:
            if not model_file:
                raise ValueError("model_file: the ddpm source needs a shaper model")
            shaper = DdpmShaper(model_file, seed=seed)
        if shaper.order != order:
            raise ValueError(
                f"{shaper.path}: contract field 'constellation' has {shaper.order} "
                f"points, order is {order}"
            )
        return shaper.pmf(snr_db)
    if name == "file":
        return load_pmf(pmf_file, order)
    if name == "custom":
        if pmf is None:
            raise ValueError("pmf: the custom source needs a pmf")
        return check_pmf(pmf, order)
    raise ValueError(f"pmf_source: unknown {source!r}, expected one of {PMF_SOURCES}")


def save_pmf(path: str, pmf, order: int, **details) -> None:
    """Write a pmf as JSON (``{"format", "order", "pmf", ...details}``)."""
    import json
    import os

    doc = {"format": PMF_FORMAT, "order": int(order), "pmf": [float(p) for p in pmf]}
    doc.update(details)
    check_pmf(doc["pmf"], order)
    tmp = f"{path}.tmp"
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(doc, fh, indent=1)
    os.replace(tmp, path)


def load_pmf(path: str, order: int | None = None) -> np.ndarray:
    """Read a pmf file written by :func:`save_pmf`; errors name the file and field."""
    import json
    import os

    if not path or not os.path.isfile(path):
        raise FileNotFoundError(f"{path or '(empty)'}: pmf file not found")
    try:
        with open(path, encoding="utf-8") as fh:
            doc = json.load(fh)
    except (OSError, ValueError) as err:
        raise ValueError(f"{path}: not a readable JSON pmf file ({err})") from None
    if not isinstance(doc, dict) or "pmf" not in doc:
        raise ValueError(f"{path}: field 'pmf' is missing")
    if order is not None and doc.get("order", order) != order:
        raise ValueError(
            f"{path}: field 'order' is {doc.get('order')!r}, expected {order}"
        )
    try:
        return check_pmf(doc["pmf"], order)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{path}: field {err}") from None


def nominal_energy(pmf, order: int) -> float:
    """Average energy of the nominal (unit-energy uniform) points under ``pmf``.

    A shaped transmitter scales its points by ``1 / sqrt(nominal_energy)``; a receiver
    built for the nominal points multiplies by ``sqrt(nominal_energy)`` first, which
    raises its Es/N0 by ``-10 log10(nominal_energy)`` dB.
    """
    points = Constellation(check_square_order(order)).points
    return float(np.sum(check_pmf(pmf, order) * np.abs(points) ** 2))


class ShapedQam:
    """A shaped square QAM transmitter's state: pmf source, SNR, pmf and points.

    The transmit block and the receive-side dematcher each hold one, built from the
    same parameters, so that they derive the same pmf (every source is
    deterministic: the DDPM shaper is seeded).

    Parameters
    ----------
    order : int
        16, 64, ... (square QAM).
    pmf_source : str
        One of :data:`PMF_SOURCES` (see :func:`pmf_for`).
    snr_db : float
        Link Es/N0 the pmf is chosen for.
    noise : str
        Noise law ``mb`` and ``ba`` optimize for.
    model_file : str
        Shaper ONNX for ``ddpm``; empty: the shipped ``models/shaper-<name>.onnx``.
    pmf_file : str
        JSON pmf for ``file``.
    pmf : sequence of float
        The pmf for ``custom``.
    seed : int
        Seed of the DDPM shaper.
    """

    def __init__(
        self,
        order: int = 16,
        pmf_source: str = "mb",
        snr_db: float = 10.0,
        noise: str = "awgn",
        model_file: str = "",
        pmf_file: str = "",
        pmf=None,
        seed: int = 0,
    ):
        self.constellation = Constellation(check_square_order(order))
        self.order = self.constellation.order
        self.source = str(pmf_source).lower()
        if self.source not in PMF_SOURCES:
            raise ValueError(
                f"pmf_source: unknown {pmf_source!r}, expected one of {PMF_SOURCES}"
            )
        self.noise = check_noise(noise)
        self.shaper = None
        if self.source == "ddpm":
            from .paths import models_dir

            path = model_file or str(
                models_dir() / f"shaper-{self.constellation.name}.onnx"
            )
            self.shaper = DdpmShaper(path, seed=seed)
        self._pmf_file, self._custom, self._seed = pmf_file, pmf, seed
        self.set_snr_db(snr_db)

    def set_snr_db(self, snr_db: float) -> None:
        """Re-derive the pmf and the points for a new SNR."""
        snr_db = check_snr_db(snr_db)
        pmf = pmf_for(
            self.source,
            self.order,
            snr_db,
            self.noise,
            pmf_file=self._pmf_file,
            pmf=self._custom,
            seed=self._seed,
            shaper=self.shaper,
        )
        self.snr_db, self.pmf = snr_db, pmf
        self.points = normalize_points(self.constellation.points, pmf)

    @property
    def nominal_energy(self) -> float:
        """See :func:`nominal_energy`."""
        return nominal_energy(self.pmf, self.order)
