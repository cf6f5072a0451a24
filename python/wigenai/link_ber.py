"""BER and SER sweeps on the named structured links (``wigenai ber --link NAME``).

Every receiver sees the same messages and channel draws at each SNR
(:func:`wigenai.structured_receivers.run_link_sweep`). The receivers:

``nearest``
    nearest neighbour on the nominal constellation (what a naive chain does);
``centroid``
    the engineer's baseline: per-point centroid and covariance from known pilots sent
    through the same link, Gaussian ML (:class:`~wigenai.structured_receivers.
    CentroidReceiver`);
``map``
    the genie MAP detector with the true impairment law, by numerical integration
    over the unknown phase (:class:`~wigenai.structured_receivers.GenieMapReceiver`);
``ddpm``
    the DDPM denoiser trained on the link (``models/denoiser-<mod>-<link>.onnx``),
    deterministic DDIM, then the nearest point;
``ae``
    the autoencoder benchmark's receiver trained on the same link
    (``models/ae-<mod>-<link>.onnx``).

A model trained for another preset, or for other preset values (the
out-of-distribution rows of the report), is used as asked, with a warning that says
what it was trained for.
"""

from __future__ import annotations

import logging

import numpy as np

from .ber import BerRecord
from .constellation import Constellation
from .presets import describe, mismatch, preset
from .structured_receivers import CentroidReceiver, GenieMapReceiver, run_link_sweep

log = logging.getLogger(__name__)

LINK_RECEIVERS = ("nearest", "centroid", "map", "ddpm", "ae")
DEFAULT_SNR = "0:30:2"


def make_receivers(
    names,
    link_name: str,
    overrides: dict,
    ddpm_model: str | None = None,
    ae_model: str | None = None,
    ddpm_options: dict | None = None,
    pilots: int = 4096,
    seed: int = 0,
) -> list:
    """The receivers ``names`` for preset ``link_name`` with ``overrides``.

    Raises ``ValueError`` naming ``receivers`` for an unknown name, and the model
    loaders' errors (naming the file) for a bad model.
    """
    from .paths import default_model
    from .presets import constellation
    from .receivers import NearestReceiver

    const: Constellation = constellation(link_name, **overrides)
    out = []
    for name in names:
        if name == "nearest":
            out.append(NearestReceiver(const))
        elif name == "centroid":
            out.append(CentroidReceiver(const, pilots=pilots, seed=[seed, 99]))
        elif name == "map":
            out.append(GenieMapReceiver(const))
        elif name == "ddpm":
            from .ort_sampler import DdpmReceiver

            path = ddpm_model or str(default_model("denoiser", const.name, link_name))
            rx = DdpmReceiver(path, **(ddpm_options or {}))
            _check_model(path, rx.denoiser.contract.training_link, link_name, overrides)
            _check_points(path, rx.points, const)
            out.append(rx)
        elif name == "ae":
            from .autoencoder import AutoencoderReceiver

            path = ae_model or str(default_model("ae", const.name, link_name))
            rx = AutoencoderReceiver(path)
            _check_model(path, rx.metadata.get("link", {}), link_name, overrides)
            _check_points(path, rx.points, const)
            out.append(rx)
        else:
            raise ValueError(
                f"receivers: unknown receiver {name!r} on a structured link, "
                f"expected some of {', '.join(LINK_RECEIVERS)}"
            )
    return out


def _check_model(path, training_link, link_name, overrides):
    why = mismatch(training_link, link_name, overrides)
    if why:
        log.warning("%s: %s", path, why)


def _check_points(path, points, const: Constellation):
    points = np.asarray(points)
    if points.size != const.order or np.max(np.abs(points - const.points)) > 1e-6:
        raise ValueError(
            f"{path}: its points are not the {const.name} points the link sends "
            f"({points.size} points); the structured links compare receivers on "
            "the same transmitted symbols"
        )


def sweep(
    link_name: str,
    snrs,
    receivers: list,
    symbols: int,
    seed: int = 0,
    overrides: dict | None = None,
) -> list[BerRecord]:
    """Run the sweep on preset ``link_name`` (see :func:`run_link_sweep`)."""
    link = preset(link_name, 0.0, **(overrides or {}))
    return run_link_sweep(link, snrs, receivers, symbols, seed=seed)


def records_json(records, link_name: str, overrides: dict) -> list[dict]:
    """The JSON records of :class:`BerRecord` with the link's name and overrides."""
    name = describe(link_name, **overrides)["link"]
    return [{**r.as_json(), "link": name, "overrides": overrides} for r in records]


def gap_closed(records, method: str, worse: str, better: str = "map") -> dict:
    """``(err_worse - err_method) / (err_worse - err_better)`` per SNR, for BER and
    SER: the share of the gap between two receivers that ``method`` closes
    (1 = as good as ``better``, 0 = no better than ``worse``). ``None`` where the
    gap is empty."""
    by = {(r.snr_db, r.method): r for r in records}
    out = {}
    for (snr, m), r in sorted(by.items()):
        if m != method or (snr, worse) not in by or (snr, better) not in by:
            continue
        w, b = by[(snr, worse)], by[(snr, better)]
        row = {}
        for key in ("ber", "ser"):
            gap = getattr(w, key) - getattr(b, key)
            row[key] = (getattr(w, key) - getattr(r, key)) / gap if gap > 0 else None
        out[snr] = row
    return out


def format_tables(records, names, snrs, title: str) -> str:
    """BER and SER tables (+- 1 standard error), the gaps closed and the decision
    cost, as the text ``wigenai ber --link`` prints."""
    by = {(r.snr_db, r.method): r for r in records}
    lines = []
    for key, label in (("ber", "BER"), ("ser", "SER")):
        lines.append(f"{label} (+- 1 standard error), {title}")
        lines.append(f"{'SNR dB':>7} " + " ".join(f"{n:>19}" for n in names))
        for s in snrs:
            row = f"{s:>7.2f} "
            for n in names:
                r = by[(s, n)]
                value = getattr(r, key)
                count = r.bits if key == "ber" else r.symbols
                se = float(np.sqrt(max(value * (1 - value), 0.0) / count))
                row += f" {value:9.3e}+-{se:7.1e}"
            lines.append(row)
    learned = [n for n in names if n not in ("nearest", "centroid", "map")]
    for worse in ("nearest", "centroid") if "map" in names else ():
        shown = [n for n in learned + ["centroid"] if n != worse and n in names]
        if worse not in names or not shown:
            continue
        lines.append(f"share of the {worse} -> map BER gap closed (1 = map)")
        lines.append(f"{'SNR dB':>7} " + " ".join(f"{n:>10}" for n in shown))
        gaps = {n: gap_closed(records, n, worse) for n in shown}
        for s in snrs:
            cells = []
            for n in shown:
                g = gaps[n].get(s, {}).get("ber")
                cells.append(f"{g:>10.3f}" if g is not None else f"{'-':>10}")
            lines.append(f"{s:>7.2f} " + " ".join(cells))
    costs = {}
    for r in records:
        costs.setdefault(r.method, [0.0, 0])
        costs[r.method][0] += r.decide_s
        costs[r.method][1] += r.symbols
    lines.append(
        "decision cost, microseconds per symbol: "
        + ", ".join(f"{n} {1e6 * costs[n][0] / costs[n][1]:.2f}" for n in names)
    )
    return "\n".join(lines)


def plot_ber(records, names, path: str, title: str) -> None:
    """BER and SER vs SNR of every receiver, one panel each, to a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4.4))
    markers = "osv^Dx"
    for ax, key in zip(axes, ("ber", "ser"), strict=True):
        for k, n in enumerate(names):
            pts = [r for r in records if r.method == n]
            # No error counted: not plotted (a log axis has no place for it).
            ax.semilogy(
                [r.snr_db for r in pts],
                [getattr(r, key) if getattr(r, key) > 0 else np.nan for r in pts],
                marker=markers[k % len(markers)],
                markersize=8 - k,
                linewidth=2.5 if n == "map" else 1.2,
                color="black" if n == "map" else None,
                alpha=0.6 if n == "map" else 1.0,
                label=n,
            )
        ax.set_xlabel("SNR Es/N0 (dB)")
        ax.set_ylabel(key.upper())
        ax.grid(True, which="both", alpha=0.3)
        ax.legend()
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    log.info("wrote %s", path)


def plot_constellation(
    link_name: str,
    overrides: dict,
    ddpm,
    snr_db: float,
    path: str,
    symbols: int = 4000,
    seed: int = 0,
) -> None:
    """Received samples and the DDPM's estimates of the same symbols, side by side,
    coloured by the symbol sent (nominal points as black crosses)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    link = preset(link_name, snr_db, seed=[seed, 7], **overrides)
    rng = np.random.default_rng([seed, 8])
    sent = rng.integers(0, len(ddpm.points), symbols)
    y, _ = link.transmit(ddpm.points[sent])
    ddpm.denoiser.set_snr_db(snr_db)
    x0 = ddpm.denoiser.denoise(y)
    decided = ddpm.denoiser.nearest(x0)
    fig, axes = plt.subplots(1, 2, figsize=(10, 5))
    for ax, z, label in (
        (axes[0], y, "received"),
        (axes[1], x0, f"DDPM estimate ({np.mean(decided != sent):.2%} symbol errors)"),
    ):
        ax.scatter(z.real, z.imag, c=sent, cmap="tab20", s=3, alpha=0.6)
        ax.plot(ddpm.points.real, ddpm.points.imag, "k+", markersize=10)
        ax.set_aspect("equal")
        ax.set_title(label)
        ax.grid(True, alpha=0.3)
    fig.suptitle(f"{link_name}, Es/N0 {snr_db:g} dB, {symbols} symbols")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    log.info("wrote %s", path)
