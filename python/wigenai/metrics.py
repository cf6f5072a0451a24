"""Error counting, theory curves and mutual information estimation."""

from __future__ import annotations

import math

import numpy as np
from scipy.special import erfc, logsumexp


def qfunc(x):
    """Gaussian tail probability Q(x)."""
    return 0.5 * erfc(np.asarray(x, dtype=float) / math.sqrt(2.0))


def theory_ber(modulation: str, snr_db, extra_noise: float = 0.0):
    """Uncoded Gray-mapped BER on an AWGN link at Es/N0 = ``snr_db``.

    ``extra_noise`` adds a Gaussian noise power (for instance the transceiver
    distortion ``kappa_t**2 + kappa_r**2``) to N0: an approximation that ignores
    quantization. Exact for QPSK and 16-QAM on AWGN.
    """
    n0 = 10.0 ** (-np.asarray(snr_db, dtype=float) / 10.0) + extra_noise
    snr = 1.0 / n0
    if modulation == "qpsk":
        return qfunc(np.sqrt(snr))
    if modulation == "16qam":
        a = np.sqrt(snr / 5.0)  # half the distance between levels over sigma
        return (3 * qfunc(a) + 2 * qfunc(3 * a) - qfunc(5 * a)) / 4.0
    raise ValueError(f"modulation: no closed-form BER for {modulation!r}")


def error_stderr(rate: float, count: int) -> float:
    """Binomial standard error of an error rate measured over ``count`` trials."""
    if count <= 0:
        return float("nan")
    return math.sqrt(max(rate * (1.0 - rate), 0.0) / count)


def symbol_errors(sent: np.ndarray, decided: np.ndarray) -> int:
    return int(np.count_nonzero(np.asarray(sent) != np.asarray(decided)))


def information_density(
    log_lik: np.ndarray, sent: np.ndarray, log_prior: np.ndarray
) -> np.ndarray:
    """Per-sample information density in bits, ``log2 q(y|x) - log2 q(y)``.

    ``log_lik`` (N, M): ``log q(y_n | x_m)``; ``sent`` (N,): index of the symbol sent
    for each sample; ``log_prior`` (M,): natural log of the input pmf. Its mean over
    samples drawn from the prior and the channel estimates I(X;Y) (true law) or the
    achievable rate of a receiver that assumes the law ``q`` (mismatched law).
    """
    log_lik = np.asarray(log_lik, dtype=float)
    sent = np.asarray(sent, dtype=np.int64)
    log_py = logsumexp(log_lik + np.asarray(log_prior)[None, :], axis=1)
    return (log_lik[np.arange(sent.size), sent] - log_py) / math.log(2.0)


def mean_with_ci(samples: np.ndarray) -> tuple[float, float]:
    """Sample mean and its 95 % confidence half-width (1.96 standard errors)."""
    samples = np.asarray(samples, dtype=float).reshape(-1)
    if samples.size < 2:
        return float(samples.mean()) if samples.size else float("nan"), 0.0
    half = 1.96 * samples.std(ddof=1) / math.sqrt(samples.size)
    return float(samples.mean()), float(half)


def mutual_information(
    log_lik: np.ndarray, sent: np.ndarray, log_prior: np.ndarray
) -> tuple[float, float]:
    """Monte Carlo estimate of I(X;Y) in bits with a 95 % confidence half-width.

    Parameters
    ----------
    log_lik : array (N, M)
        ``log q(y_n | x_m)`` for every received sample and candidate symbol. With the
        true channel law this estimates I(X;Y); with a mismatched law it estimates
        the achievable rate of the receiver that assumes that law.
    sent : int array (N,)
        Index of the symbol actually sent for each sample (drawn from the prior).
    log_prior : array (M,)
        Natural log of the input pmf.

    The estimate is the sample mean of :func:`information_density`; the half-width
    is 1.96 standard errors of that mean.
    """
    return mean_with_ci(information_density(log_lik, sent, log_prior))


def entropy_bits(pmf: np.ndarray) -> float:
    p = np.asarray(pmf, dtype=float)
    p = p[p > 0]
    return float(-(p * np.log2(p)).sum())
