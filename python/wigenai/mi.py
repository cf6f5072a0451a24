"""Mutual information of every shaper on the same link: ``wigenai mi``.

At each SNR every shaper gives a pmf over a square QAM (the Stark et al. benchmark
also its own points); the points are scaled to unit energy under the pmf and the
mutual information between the transmitted and the received symbol is estimated by
Monte Carlo with the true noise law (95 % interval). Under Laplacian noise the rate
of a receiver that assumes Gaussian noise is reported beside it (``mismatched``).
For product pmfs (uniform, MB, BA) the exact value by quadrature is stored too.

Records (JSON): ``{"snr_db", "order", "method", "noise", "mi_bits", "ci_bits",
"entropy_bits", "mismatched_bits", "exact_bits", "pmf", ...}``; ``method`` is one of
``capacity`` (log2(1 + SNR)), ``uniform``, ``mb``, ``ba``, ``ddpm``, ``stark``.
"""

from __future__ import annotations

import logging
import math
from dataclasses import asdict, dataclass, field

import numpy as np

from . import shaping
from .constellation import Constellation
from .metrics import entropy_bits

log = logging.getLogger(__name__)


@dataclass
class MiRecord:
    """One (SNR, shaper) result of the sweep."""

    snr_db: float
    order: int
    method: str
    noise: str
    mi_bits: float
    ci_bits: float = 0.0
    entropy_bits: float | None = None
    mismatched_bits: float | None = None
    exact_bits: float | None = None
    pmf: list = field(default_factory=list)
    extra: dict = field(default_factory=dict)

    def as_json(self) -> dict:
        doc = asdict(self)
        doc.update(doc.pop("extra"))
        return {k: v for k, v in doc.items() if v is not None}


class PmfSources:
    """Builds each shaper's (points, pmf, details) at an SNR for one order and noise.

    ``ddpm``: a :class:`wigenai.shaping.DdpmShaper` on ``shaper_model``; ``stark``:
    the trained benchmark file (``wigenai train stark``); ``mb`` and ``ba`` are
    optimized for the noise law of the sweep; ``uniform`` needs nothing.
    """

    def __init__(
        self,
        order: int,
        noise: str,
        shaper_model: str | None = None,
        stark_model: str | None = None,
        ddpm_options: dict | None = None,
    ):
        self.order = order
        self.noise = noise
        self.constellation = Constellation(order)
        self._shaper = None
        self._stark = None
        if shaper_model is not None:
            self._shaper = shaping.DdpmShaper(shaper_model, **(ddpm_options or {}))
            if self._shaper.order != order:
                raise ValueError(
                    f"{shaper_model}: contract field 'constellation' has "
                    f"{self._shaper.order} points, --order is {order}"
                )
        if stark_model is not None:
            from . import stark

            self._stark = stark.load(stark_model)
            if int(self._stark["order"]) != order:
                raise ValueError(
                    f"{stark_model}: field 'order' is {self._stark['order']}, "
                    f"--order is {order}"
                )

    def get(self, method: str, snr_db: float):
        """``(points, pmf, details)`` of ``method`` at ``snr_db``."""
        points = self.constellation.points
        if method == "mb":
            pmf, nu, exact = shaping.optimize_mb(self.order, snr_db, self.noise)
            return points, pmf, {"nu": nu, "exact_bits": exact}
        if method == "ba":
            pmf, exact, scale = shaping.blahut_arimoto(self.order, snr_db, self.noise)
            return points, pmf, {"scale": scale, "exact_bits": exact}
        if method in ("uniform", "ddpm"):
            details = {}
            if method == "ddpm":
                details["model_snr_db"] = self._shaper.clamp_snr(snr_db)
            pmf = shaping.pmf_for(method, self.order, snr_db, shaper=self._shaper)
            return points, pmf, details
        if method == "stark":
            from . import stark

            pts, pmf = stark.lookup(self._stark, snr_db)
            return pts, pmf, {"points": [[float(p.real), float(p.imag)] for p in pts]}
        raise ValueError(
            f"shapers: unknown {method!r}, expected one of {shaping.SHAPERS}"
        )


def run_sweep(
    sources: PmfSources,
    methods: list[str],
    snrs: list[float],
    symbols: int,
    seed: int = 0,
    progress: bool = True,
) -> list[MiRecord]:
    """MI of each method at each SNR (the capacity first); see the module docstring."""
    from tqdm import tqdm

    records = []
    noise, order = sources.noise, sources.order
    bar = tqdm(
        total=len(snrs) * len(methods),
        desc=f"mi {order}-QAM {noise}",
        unit="point",
        disable=not progress,
    )
    for k, snr_db in enumerate(snrs):
        records.append(
            MiRecord(snr_db, order, "capacity", noise, shaping.capacity_bits(snr_db))
        )
        for method in methods:
            points, pmf, details = sources.get(method, snr_db)
            mi, ci = shaping.mutual_information_mc(
                points, pmf, snr_db, noise, symbols, seed=seed + k
            )
            mismatched = None
            if noise != "awgn":
                mismatched, _ = shaping.mutual_information_mc(
                    points, pmf, snr_db, noise, symbols, seed=seed + k, mismatched=True
                )
            exact = details.pop("exact_bits", None)
            if exact is None and method == "uniform":
                side = sources.constellation.side
                exact = shaping.product_mi_quadrature(
                    order, np.full(side, 1.0 / side), snr_db, noise
                )
            records.append(
                MiRecord(
                    snr_db,
                    order,
                    method,
                    noise,
                    mi,
                    ci,
                    entropy_bits(pmf),
                    mismatched,
                    exact,
                    [float(p) for p in pmf],
                    details,
                )
            )
            bar.update(1)
    bar.close()
    return records


def plot(records: list[MiRecord], methods: list[str], path: str) -> None:
    """MI vs SNR with the capacity curve (top) and each method's gain over uniform
    signalling (bottom, where the shaping differences are visible), as PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    noise, order = records[0].noise, records[0].order
    by = {(r.snr_db, r.method): r for r in records}
    snrs = sorted({r.snr_db for r in records})
    fig, (top, bottom) = plt.subplots(
        2, 1, figsize=(6.4, 6.6), sharex=True, gridspec_kw={"height_ratios": [3, 2]}
    )
    top.plot(
        snrs,
        [by[(s, "capacity")].mi_bits for s in snrs],
        "k--",
        linewidth=1.5,
        label="log2(1+SNR)",
    )
    baseline = "uniform" if "uniform" in methods else "capacity"
    markers = "osv^Dx"
    for k, m in enumerate(methods):
        style = dict(marker=markers[k % len(markers)], markersize=8 - k, linewidth=1.2)
        mi = [by[(s, m)].mi_bits for s in snrs]
        ci = [by[(s, m)].ci_bits for s in snrs]
        top.errorbar(snrs, mi, yerr=ci, capsize=2, label=m, **style)
        gain = [by[(s, m)].mi_bits - by[(s, baseline)].mi_bits for s in snrs]
        bottom.plot(snrs, gain, label=m, **style)
    cap_gain = [by[(s, "capacity")].mi_bits - by[(s, baseline)].mi_bits for s in snrs]
    if baseline == "uniform":
        bottom.plot(snrs, cap_gain, "k--", linewidth=1.0, label="log2(1+SNR)")
    top.axhline(math.log2(order), color="grey", linewidth=0.8, alpha=0.6)
    top.set_ylabel("mutual information (bit / symbol)")
    top.set_title(f"{order}-QAM shaping, {noise} noise (Monte Carlo, 95 % intervals)")
    top.grid(True, alpha=0.3)
    top.legend()
    bottom.set_ylim(-0.05, 0.3)
    bottom.set_ylabel(f"gain vs {baseline} (bit)")
    bottom.set_xlabel("SNR Es/N0 (dB)")
    bottom.grid(True, alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    log.info("wrote %s", path)
