"""Receivers for structured links: the engineer's pilot baseline and the genie MAP.

Both follow :class:`wigenai.receivers.Receiver` (``decide(y, h, channel) -> indices``)
and work on a :class:`wigenai.impairments.StructuredLink` as well as on a
:class:`wigenai.channel.ImpairedChannel`. :func:`run_link_sweep` is
:func:`wigenai.ber.run_sweep` for a structured link: the same fairness rule (at each
SNR every receiver sees the same messages and the same channel draws), the same
:class:`wigenai.ber.BerRecord` records.
"""

from __future__ import annotations

import logging
import math

import numpy as np

from .ber import BerRecord, run_sweep
from .channel import ImpairedChannel
from .constellation import Constellation
from .impairments import PHASE_RULES, StructuredLink
from .receivers import Receiver

log = logging.getLogger(__name__)

CENTROID_METRICS = ("ml", "nearest")


def _pilot_link(channel, seed):
    """An independent copy of ``channel`` (same law and SNR) with its own generator."""
    if isinstance(channel, StructuredLink):
        return channel.spawn(seed)
    if isinstance(channel, ImpairedChannel):
        return ImpairedChannel(channel.params, seed=seed)
    if hasattr(channel, "spawn"):
        return channel.spawn(seed)
    raise ValueError(f"channel: cannot draw pilots through {type(channel).__name__}")


class CentroidReceiver(Receiver):
    """Non-learned baseline: per-point centroid and 2x2 covariance from pilots.

    Before deciding, ``pilots`` known symbols (every point equally often, in a seeded
    random order) are sent through an independent copy of the same link at the same
    SNR. For each point ``m`` the receiver estimates the mean ``c_m`` and the 2x2
    covariance ``S_m`` of the received ``(I, Q)``, and decides by Gaussian maximum
    likelihood, ``argmin_m d^T S_m^-1 d + log det S_m`` with ``d = y - c_m``, or, with
    ``metric="nearest"``, by the nearest centroid. This is what a competent engineer
    does without knowing the impairment law: it absorbs any static distortion (PA,
    IQ imbalance, DC offset, quantizer bias) and is optimal when each cluster is
    Gaussian, but it sees an arc (strong phase noise) as an ellipse.

    Parameters
    ----------
    constellation : Constellation
        The transmit points.
    pilots : int
        Number of pilot symbols, at least 3 per point.
    seed : int or sequence of int
        Seed of the pilot messages and of the pilot link's generator.
    metric : {"ml", "nearest"}
        Gaussian ML with each point's covariance, or the nearest centroid.
    chunk : int
        Samples decided at a time (memory).
    """

    def __init__(
        self,
        constellation: Constellation,
        pilots: int = 4096,
        seed=0,
        metric: str = "ml",
        chunk: int = 1 << 16,
    ):
        super().__init__(constellation.points, constellation.bits_per_symbol)
        order = len(self.points)
        if int(pilots) != pilots or pilots < 3 * order:
            raise ValueError(
                f"pilots: need an integer >= 3 per point ({3 * order}), got {pilots!r}"
            )
        if metric not in CENTROID_METRICS:
            raise ValueError(
                f"metric: expected one of {CENTROID_METRICS}, got {metric!r}"
            )
        self.pilots = int(pilots)
        self.seed = seed
        self.metric = metric
        self.chunk = int(chunk)
        self.name = "centroid" if metric == "ml" else "centroid-nearest"
        self.centroids: np.ndarray | None = None
        self.covariances: np.ndarray | None = None

    def fit(self, channel) -> None:
        """Estimate the centroids and covariances from pilots through ``channel``."""
        order = len(self.points)
        rng = np.random.default_rng(self.seed)
        sent = rng.permutation(np.resize(np.arange(order), self.pilots))
        seed = None if self.seed is None else [*np.atleast_1d(self.seed).tolist(), 1]
        link = _pilot_link(channel, seed)
        y, _ = link.transmit(self.points[sent])
        v = np.stack([y.real, y.imag], axis=1)
        count = np.bincount(sent, minlength=order)
        mean = (
            np.stack(
                [np.bincount(sent, v[:, d], minlength=order) for d in (0, 1)], axis=1
            )
            / count[:, None]
        )
        d = v - mean[sent]
        cov = np.zeros((order, 2, 2))
        for i in range(2):
            for j in range(i, 2):
                cov[:, i, j] = np.bincount(sent, d[:, i] * d[:, j], minlength=order)
                cov[:, j, i] = cov[:, i, j]
        cov /= (count - 1)[:, None, None]
        ridge = 1e-12 + 1e-6 * float(np.mean(np.trace(cov, axis1=1, axis2=2)))
        cov += ridge * np.eye(2)
        self.centroids = mean[:, 0] + 1j * mean[:, 1]
        self.covariances = cov

    def decide(self, y, h, channel):
        """Fit on fresh pilots through ``channel``, then decide every sample."""
        self.fit(channel)
        y = np.asarray(y, dtype=np.complex128).reshape(-1)
        c = self.centroids
        cov = self.covariances
        det = cov[:, 0, 0] * cov[:, 1, 1] - cov[:, 0, 1] ** 2
        inv_a = cov[:, 1, 1] / det
        inv_b = -cov[:, 0, 1] / det
        inv_c = cov[:, 0, 0] / det
        logdet = np.log(det)
        out = np.empty(y.size, dtype=np.int64)
        for start in range(0, y.size, self.chunk):
            yy = y[start : start + self.chunk, None]
            dr = yy.real - c.real
            di = yy.imag - c.imag
            if self.metric == "nearest":
                score = dr**2 + di**2
            else:
                score = inv_a * dr**2 + 2 * inv_b * dr * di + inv_c * di**2 + logdet
            out[start : start + self.chunk] = np.argmin(score, axis=1)
        return out


class GenieMapReceiver(Receiver):
    """MAP symbol detector with the true impairment law, computed numerically.

    For every received sample and candidate point it evaluates
    ``p(y | x_m) = E_theta[p(y | z(x_m, theta))]``: the deterministic stages before the
    phase (DAC, transmit IQ imbalance, PA) map the candidate, the unknown part of the
    phase is integrated by quadrature over its per-symbol law (a Gaussian grid by
    default, Gauss-Hermite with ``phase_rule="hermite"``), the widely linear stages
    after it (receive IQ imbalance, DC offset) map each node, and the noise law (AWGN
    or Laplacian, plus any Gaussian distortion) gives the density or, with a receive
    ADC, the probability of the received cell on I and Q (see
    :meth:`wigenai.impairments.StructuredLink.log_likelihoods`).

    What the genie knows: all stage parameters, the SNR, the symbol time (carrier
    ramp) and an untracked Wiener walk up to the previous symbol; not the walk's
    current increment, the i.i.d. jitter or the noise. No receiver that sees one sample
    at a time and knows less can have a lower expected symbol error rate.

    Cost: ``O(N M K)`` likelihood terms for ``N`` samples, ``M`` points and ``K``
    phase nodes (``K`` is chosen so that the node spacing matches the noise rms over
    the largest amplitude: tens at 20 dB and ~100-300 at 30-35 dB with 10 degrees of
    phase noise; 1 without phase noise). With a receive ADC and a constant known
    phase the likelihood depends on ``y`` only through its cell, and the cost drops to
    ``O((L + U) M K)`` for ``L`` levels and ``U`` distinct received cells.

    Parameters
    ----------
    constellation : Constellation
        The transmit points.
    pmf : array or None
        Prior over the points (uniform by default).
    chunk : int
        Samples per likelihood call.
    phase_rule : {"grid", "hermite"}
        Quadrature rule over the phase.
    nodes : int or None
        Fixed number of phase nodes (default: automatic for the grid, 32 for
        Gauss-Hermite).
    """

    name = "map"

    def __init__(
        self,
        constellation: Constellation,
        pmf: np.ndarray | None = None,
        chunk: int = 1 << 16,
        phase_rule: str = "grid",
        nodes: int | None = None,
    ):
        super().__init__(constellation.points, constellation.bits_per_symbol)
        if phase_rule not in PHASE_RULES:
            raise ValueError(
                f"phase_rule: expected one of {PHASE_RULES}, got {phase_rule!r}"
            )
        prior = (
            np.full(len(self.points), 1.0 / len(self.points))
            if pmf is None
            else np.asarray(pmf, dtype=float)
        )
        with np.errstate(divide="ignore"):
            self.log_prior = np.log(prior)
        self.chunk = int(chunk)
        self.phase_rule = phase_rule
        self.nodes = nodes

    def decide(self, y, h, channel):
        """Symbol MAP decisions under ``channel``'s true law."""
        y = np.asarray(y, dtype=np.complex128).reshape(-1)
        h = np.ones(y.size, np.complex128) if h is None else np.asarray(h).reshape(-1)
        structured = isinstance(channel, StructuredLink)
        known = channel.known_phase() if structured else None
        varying = known is not None and np.ndim(known) > 0
        out = np.empty(y.size, dtype=np.int64)
        for start in range(0, y.size, self.chunk):
            sl = slice(start, start + self.chunk)
            if structured:
                ll = channel.log_likelihoods(
                    y[sl],
                    self.points,
                    known_phase=np.asarray(known).reshape(-1)[sl] if varying else known,
                    rule=self.phase_rule,
                    nodes=self.nodes,
                )
            else:
                ll = channel.log_likelihoods(y[sl], self.points, h[sl])
            out[sl] = np.argmax(ll + self.log_prior, axis=1)
        return out


def run_link_sweep(
    link: StructuredLink,
    snrs_db,
    receivers: list[Receiver],
    n_symbols: int,
    seed: int = 0,
    chunk: int = 100_000,
) -> list[BerRecord]:
    """BER and SER of each receiver at each SNR on a structured link.

    As :func:`wigenai.ber.run_sweep`: at SNR number ``k`` every receiver sees the same
    messages (generator ``[seed, k]``) and the same channel draws (a fresh copy of
    ``link`` seeded ``[seed, k, 1]``), so that differences between receivers are not
    Monte Carlo noise of the channel.

    Parameters
    ----------
    link : StructuredLink
        The link; its own SNR and state are left untouched.
    snrs_db : sequence of float
        Es/N0 per complex symbol, dB.
    receivers : list of Receiver
        Decision rules, each with the link's transmit points.
    n_symbols : int
        Symbols per SNR and receiver.
    seed : int
        Seed of messages and channel draws.
    chunk : int
        Symbols sent per ``transmit`` call.

    Returns
    -------
    list of BerRecord
    """
    return run_sweep(link, snrs_db, receivers, n_symbols, seed, chunk, progress=False)


def ser_ratio(records: list[BerRecord], method: str, reference: str = "map") -> dict:
    """SER of ``method`` over SER of ``reference`` per SNR (``inf`` where it is 0)."""
    by = {(r.snr_db, r.method): r.ser for r in records}
    out = {}
    for (snr, m), ser in by.items():
        if m == method and (snr, reference) in by:
            ref = by[(snr, reference)]
            out[snr] = ser / ref if ref > 0 else (math.inf if ser > 0 else 1.0)
    return out
