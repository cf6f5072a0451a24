"""Joint geometric and probabilistic constellation shaping on AWGN: reference [14].

After Stark, Ait Aoudia and Hoydis, "Joint learning of geometric and probabilistic
constellation shaping" (IEEE Globecom Workshops, 2019), the learned shaping benchmark
that the paper compares against, trained here on the AWGN channel, one model per SNR.

``wigenai train stark --order 16 --snr=-10:20:2.5 --config configs/stark.yaml
--out models/stark-16qam.json [--seed S]``

The model, per Es/N0 ``snr_db`` (``N0 = 10^(-snr_db/10)`` per complex symbol):

* trainable points ``c`` (M complex, initialized at the Gray square QAM points of
  :class:`~wigenai.constellation.Constellation`) and trainable logits ``l`` of the pmf
  ``p = softmax(l)`` (initialized uniform);
* symbols are drawn from ``p`` with the Gumbel-softmax trick: ``s = softmax((l + g) /
  temperature)`` with ``g`` standard Gumbel noise; the forward pass sends the hard
  one-hot of ``argmax s`` (an exact draw from ``p``), the backward pass differentiates
  the soft ``s`` (the straight-through estimator of [14], a biased gradient);
* the symbol ``x = onehot @ c / sqrt(sum_m p_m |c_m|^2)``: unit average energy under
  the current pmf, so the pmf cannot buy SNR;
* AWGN ``y = x + n``, ``n ~ CN(0, N0)``;
* a neural demapper, an MLP from ``[Re y, Im y] / sqrt(1 + N0)`` (unit variance per
  complex sample at every SNR) to M logits of ``q(x | y)``;
* loss ``CE - H(p)`` in bits, ``CE`` the demapper's cross-entropy with the sent index.
  Since ``I(X;Y) = H(X) - H(X|Y) >= H(X) - CE``, minimizing the loss maximizes a lower
  bound on the mutual information of the learned input.

Points, logits and demapper are trained together with Adam (one learning rate, cosine
decay to ``lr_final``). The bound reported is ``H(p) - CE`` on a fresh evaluation batch
drawn from the final pmf, after training.

Configuration keys (YAML or JSON; every key optional, defaults below)
====================================================================

==================  ==========  ======================================================
key                 default     meaning
==================  ==========  ======================================================
steps               2000        optimizer steps per SNR
batch_size          1024        symbols per step
lr                  1.0e-2      Adam learning rate of points, logits and demapper
lr_final            1.0e-4      cosine decay of the rate down to this
temperature         3.0         Gumbel-softmax temperature (backward pass only)
hidden              [128, 128]  demapper hidden widths, ReLU
train_points        true        learn the points (false: QAM, probabilistic only)
train_pmf           true        learn the pmf (false: uniform, geometric only)
eval_batch          500000      symbols of the final bound estimate
threads             1           torch intra-op threads (see autoencoder.py)
==================  ==========  ======================================================

Defaults, measured on the project's 2-core machine (one model per SNR, 16 and 64
points): 1000, 2000 and 4000 steps of 1024 symbols gave the same true mutual
information within the Monte Carlo error (about 0.003 bits), so 2000 steps are
converged; one model takes about 8 s (M = 16) and 10 s (M = 64), a 13-SNR sweep of
both orders about 4 minutes. Temperature 3 (learning rate 1e-2) learned pmfs with 0.005
to 0.015 bits more mutual information than temperature 1 (3e-3) at 5 to 10 dB; at 0.3
the pmf barely left uniform. Two torch threads ran 15 times slower than one on that
machine (busy with other jobs).
With 500000 evaluation symbols the bound's 95 % half-width is 0.001 to 0.004 bits;
the gap between the bound and the true mutual information of the learned input,
measured on the same samples, was 0.0003 to 0.003 bits (the demapper is close to the
exact posterior).

The result of a sweep is JSON (never pickle): ``{"kind": "stark", "format_version":
1, "order", "noise": "awgn", "config", "points_by_snr": [record, ...]}``, each record
``{"snr_db", "order", "points": [[re, im], ...], "pmf", "entropy_bits", "ce_bits",
"bound_bits", "bound_ci95_bits", "train_s"}`` with the points at unit energy under the
pmf; :func:`lookup` serves an SNR from the record trained nearest to it.
"""

from __future__ import annotations

import argparse
import copy
import json
import logging
import math
import os
import time
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from .constellation import Constellation, check_square_order
from .metrics import entropy_bits

log = logging.getLogger(__name__)

KIND = "stark"
FORMAT_VERSION = 1
NOISE = "awgn"
# lookup() serves an SNR from the model trained at most this far from it, in dB.
LOOKUP_TOLERANCE_DB = 1.5
# Symbols per forward pass of the evaluation (bounds the memory, not the result).
_EVAL_CHUNK = 16384
_RECORD_FIELDS = (
    "snr_db",
    "order",
    "points",
    "pmf",
    "entropy_bits",
    "ce_bits",
    "bound_bits",
    "train_s",
)

DEFAULTS: dict[str, Any] = {
    "steps": 2000,
    "batch_size": 1024,
    "lr": 1.0e-2,
    "lr_final": 1.0e-4,
    "temperature": 3.0,
    "hidden": [128, 128],
    "train_points": True,
    "train_pmf": True,
    "eval_batch": 500000,
    "threads": 1,
}


# ----- configuration ------------------------------------------------------------------


def merge_config(config: dict | None) -> dict:
    """Defaults overridden by ``config``; unknown keys and bad values raise ValueError.

    Parameters
    ----------
    config : dict or None
        Keys of :data:`DEFAULTS` (see the module docstring); missing keys take their
        defaults.

    Returns
    -------
    dict
        A new, complete and validated configuration.
    """
    if config is not None and not isinstance(config, dict):
        raise ValueError(f"config: expected a mapping, got {type(config).__name__}")
    merged = copy.deepcopy(DEFAULTS)
    for key, value in (config or {}).items():
        if key not in merged:
            raise ValueError(
                f"config: unknown key {key!r}, expected one of {sorted(merged)}"
            )
        merged[key] = copy.deepcopy(value)
    for key in ("steps", "batch_size", "eval_batch", "threads"):
        merged[key] = _positive_int(merged[key], key)
    for key in ("lr", "lr_final", "temperature"):
        merged[key] = _positive_float(merged[key], key)
    if merged["lr_final"] > merged["lr"]:
        raise ValueError(
            f"config: lr_final must be <= lr ({merged['lr']}), got {merged['lr_final']}"
        )
    hidden = merged["hidden"]
    if not isinstance(hidden, (list, tuple)) or not hidden:
        raise ValueError(
            f"config: hidden must be a non-empty list of widths, got {hidden!r}"
        )
    merged["hidden"] = [_positive_int(w, "hidden") for w in hidden]
    for key in ("train_points", "train_pmf"):
        if not isinstance(merged[key], bool):
            raise ValueError(f"config: {key} must be true or false, got {merged[key]!r}")
    return merged


def load_config(path: str | os.PathLike) -> dict:
    """Read a YAML (or JSON) configuration with ``yaml.safe_load`` and merge it."""
    try:
        with open(path, encoding="utf-8") as handle:
            data = yaml.safe_load(handle)
    except OSError as err:
        raise ValueError(f"{path}: cannot read config ({err.strerror})") from None
    except yaml.YAMLError as err:
        raise ValueError(f"{path}: not valid YAML ({err})") from None
    if data is not None and not isinstance(data, dict):
        raise ValueError(f"{path}: configuration must be a mapping")
    try:
        return merge_config(data)
    except ValueError as err:
        raise ValueError(f"{path}: {err}") from None


def _positive_int(value, name: str) -> int:
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or value != int(value)
    ):
        raise ValueError(f"config: {name} must be an integer >= 1, got {value!r}")
    if value < 1:
        raise ValueError(f"config: {name} must be an integer >= 1, got {value!r}")
    return int(value)


def _positive_float(value, name: str) -> float:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    if not (ok and math.isfinite(value) and value > 0):
        raise ValueError(f"config: {name} must be a number > 0, got {value!r}")
    return float(value)


def _check_snr(snr_db) -> float:
    ok = isinstance(snr_db, (int, float, np.floating, np.integer))
    if not ok or isinstance(snr_db, bool) or not math.isfinite(snr_db):
        raise ValueError(f"snr_db: expected a finite number of dB, got {snr_db!r}")
    return float(snr_db)


# ----- the model ----------------------------------------------------------------------


def _demapper(order: int, hidden: list[int]):
    """MLP ``[Re y, Im y]`` -> M logits, ReLU between layers."""
    import torch

    layers: list = []
    width = 2
    for h in hidden:
        layers += [torch.nn.Linear(width, h), torch.nn.ReLU()]
        width = h
    layers.append(torch.nn.Linear(width, order))
    return torch.nn.Sequential(*layers)


def _normalized(raw, logits):
    """Points (M, 2) scaled to unit average energy under ``softmax(logits)``."""
    import torch

    pmf = torch.softmax(logits, dim=0)
    energy = (pmf * (raw**2).sum(dim=1)).sum()
    return raw / energy.sqrt()


def _entropy_bits(logits):
    import torch

    log_p = torch.log_softmax(logits, dim=0)
    return -(log_p.exp() * log_p).sum() / math.log(2.0)


def _gumbel_onehot(logits, batch: int, temperature: float, generator):
    """Straight-through Gumbel-softmax: hard one-hot forward, soft gradient backward.

    Returns the (B, M) one-hot rows (with the soft sample's gradient) and the sampled
    indices (B,). ``argmax(logits + g)`` is an exact draw from ``softmax(logits)``.
    """
    import torch

    tiny = torch.finfo(logits.dtype).tiny
    u = torch.rand(batch, logits.numel(), generator=generator).clamp_(tiny, 1.0 - 1e-7)
    perturbed = logits[None, :] - torch.log(-torch.log(u))
    soft = torch.softmax(perturbed / temperature, dim=1)
    index = perturbed.argmax(dim=1)
    hard = torch.nn.functional.one_hot(index, logits.numel()).to(soft.dtype)
    return hard - soft.detach() + soft, index


# ----- training -----------------------------------------------------------------------


def train_point(
    order: int,
    snr_db: float,
    config: dict | None = None,
    seed: int = 1,
    progress: bool = False,
) -> dict:
    """Train points, pmf and demapper for one SNR; return the learned input.

    Parameters
    ----------
    order : int
        Number of points M, a square QAM order (the points start at M-QAM).
    snr_db : float
        Es/N0 in dB, ``N0 = 10^(-snr_db/10)`` per complex symbol.
    config : dict, optional
        Keys of :data:`DEFAULTS`.
    seed : int
        Seeds torch (demapper initialization, Gumbel and channel noise). The record of
        an SNR does not depend on the other SNRs of a sweep.
    progress : bool
        Show a tqdm bar over the steps.

    Returns
    -------
    dict
        ``snr_db``, ``order``, ``points`` ([[re, im], ...] at unit energy under the
        pmf), ``pmf``, ``entropy_bits``, ``ce_bits`` and ``bound_bits = H - CE`` of a
        fresh evaluation batch of ``eval_batch`` symbols, ``bound_ci95_bits`` (the 95 %
        Monte Carlo half-width of both), ``train_s`` (wall time of training and
        evaluation).
    """
    import torch

    order = check_square_order(order)
    snr_db = _check_snr(snr_db)
    cfg = merge_config(config)
    started = time.perf_counter()
    raw, logits, demapper, generator = _fit(order, snr_db, cfg, seed, progress)
    n0 = 10.0 ** (-snr_db / 10.0)
    with torch.no_grad():
        pmf = torch.softmax(logits.double(), dim=0).numpy()
        # Unit energy under the pmf in double precision (to rounding), as recorded;
        # the bound is evaluated on exactly the recorded points.
        points = raw.detach().double().numpy()
        points = points / math.sqrt(float(np.sum(pmf * (points**2).sum(axis=1))))
        ce_bits, ci95 = _evaluate_ce(
            demapper, points, pmf, n0, cfg["eval_batch"], generator
        )
    entropy = entropy_bits(pmf)
    record = {
        "snr_db": snr_db,
        "order": order,
        "points": points.tolist(),
        "pmf": pmf.tolist(),
        "entropy_bits": entropy,
        "ce_bits": ce_bits,
        "bound_bits": entropy - ce_bits,
        "bound_ci95_bits": ci95,
        "train_s": round(time.perf_counter() - started, 3),
    }
    log.debug(
        "stark M=%d at %g dB: H %.3f, CE %.3f, bound %.3f bits in %.1f s",
        order,
        snr_db,
        entropy,
        ce_bits,
        record["bound_bits"],
        record["train_s"],
    )
    return record


def _fit(order: int, snr_db: float, cfg: dict, seed: int, progress: bool):
    """The training loop of :func:`train_point` on a merged ``cfg``.

    Returns the raw points (M, 2), the pmf logits (M,), the demapper and the torch
    generator, whose state continues for the evaluation.
    """
    import torch
    from tqdm import tqdm

    torch.set_num_threads(cfg["threads"])
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)

    n0 = 10.0 ** (-snr_db / 10.0)
    noise_std = math.sqrt(n0 / 2.0)  # per real dimension
    input_scale = 1.0 / math.sqrt(1.0 + n0)  # received samples to unit variance
    qam = Constellation(order).points
    raw = torch.tensor(np.stack([qam.real, qam.imag], axis=1), dtype=torch.float32)
    raw.requires_grad_(cfg["train_points"])
    logits = torch.zeros(order, requires_grad=cfg["train_pmf"])
    demapper = _demapper(order, cfg["hidden"])
    params = list(demapper.parameters())
    params += [t for t in (raw, logits) if t.requires_grad]
    optimizer = torch.optim.Adam(params, lr=cfg["lr"])
    steps, ratio = cfg["steps"], cfg["lr_final"] / cfg["lr"]
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer,
        lambda k: ratio + (1 - ratio) * 0.5 * (1 + math.cos(math.pi * k / steps)),
    )
    batch = cfg["batch_size"]
    log.debug("stark M=%d at %g dB: %d steps of %d symbols", order, snr_db, steps, batch)

    losses = []
    bar = tqdm(
        range(steps),
        desc=f"stark {order} {snr_db:g} dB",
        unit="step",
        mininterval=2.0,
        disable=not progress,
        leave=False,
    )
    for k in bar:
        points = _normalized(raw, logits)
        onehot, index = _gumbel_onehot(logits, batch, cfg["temperature"], generator)
        x = onehot @ points
        y = x + noise_std * torch.randn(x.shape, generator=generator)
        ce = torch.nn.functional.cross_entropy(demapper(y * input_scale), index)
        loss = ce / math.log(2.0) - _entropy_bits(logits)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        scheduler.step()
        losses.append(loss.item())
        if not math.isfinite(losses[-1]):
            raise FloatingPointError(
                f"stark M={order} at {snr_db:g} dB: loss not finite at step {k}"
            )
        if k % 200 == 0:
            bar.set_postfix(bound=f"{-np.mean(losses[-200:]):.3f}")
    bar.close()

    return raw, logits, demapper, generator


def _evaluate_ce(demapper, points, pmf, n0, count, generator) -> tuple[float, float]:
    """Demapper cross-entropy in bits on ``count`` fresh symbols drawn from ``pmf``.

    Returns the mean and its 95 % confidence half-width (1.96 standard errors).
    """
    import torch

    points_t = torch.from_numpy(points).float()
    pmf_t = torch.from_numpy(pmf)
    noise_std, scale = math.sqrt(n0 / 2.0), 1.0 / math.sqrt(1.0 + n0)
    total = total_sq = 0.0
    for lo in range(0, count, _EVAL_CHUNK):
        n = min(_EVAL_CHUNK, count - lo)
        index = torch.multinomial(pmf_t, n, replacement=True, generator=generator)
        y = points_t[index] + noise_std * torch.randn(n, 2, generator=generator)
        ce = torch.nn.functional.cross_entropy(
            demapper(y * scale), index, reduction="none"
        ).double() / math.log(2.0)
        total += float(ce.sum())
        total_sq += float((ce**2).sum())
    mean = total / count
    var = max(total_sq / count - mean**2, 0.0) * count / max(count - 1, 1)
    return mean, 1.96 * math.sqrt(var / count)


def train_sweep(
    order: int,
    snrs,
    config: dict | None = None,
    seed: int = 1,
    progress: bool = True,
) -> dict:
    """Train one model per SNR (:func:`train_point`, same seed for each).

    Parameters
    ----------
    order : int
        Square QAM order M.
    snrs : iterable of float
        Es/N0 values in dB, at least one.
    config : dict, optional
        Keys of :data:`DEFAULTS`.
    seed : int
        Seed of every point.
    progress : bool
        Show a tqdm bar over the SNRs.

    Returns
    -------
    dict
        ``{"kind": "stark", "format_version": 1, "order", "noise": "awgn", "config",
        "points_by_snr": [records of train_point in the order of snrs]}``.
    """
    from tqdm import tqdm

    order = check_square_order(order)
    snrs = [_check_snr(s) for s in snrs]
    if not snrs:
        raise ValueError("snrs: expected at least one SNR")
    cfg = merge_config(config)
    records = []
    started = time.perf_counter()
    bar = tqdm(snrs, desc=f"stark {order}", unit="snr", disable=not progress)
    for snr_db in bar:
        record = train_point(order, snr_db, cfg, seed=seed, progress=False)
        records.append(record)
        bar.set_postfix(snr=f"{snr_db:g}", bound=f"{record['bound_bits']:.3f}")
    bar.close()
    log.info(
        "stark M=%d: %d SNRs trained in %.0f s",
        order,
        len(snrs),
        time.perf_counter() - started,
    )
    return {
        "kind": KIND,
        "format_version": FORMAT_VERSION,
        "order": order,
        "noise": NOISE,
        "seed": int(seed),
        "config": cfg,
        "points_by_snr": records,
    }


# ----- files --------------------------------------------------------------------------


def save(result: dict, path: str | os.PathLike) -> Path:
    """Write ``result`` as JSON, atomically (a temporary file renamed over ``path``).

    The temporary file is opened like any other (its mode follows the umask), so the
    result has the permissions of a plain write; a reader never sees half a file.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(result, indent=1, allow_nan=False) + "\n"
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    log.info("wrote %s (%d SNRs)", path, len(result.get("points_by_snr", [])))
    return path


def load(path: str | os.PathLike) -> dict:
    """Read and validate a sweep written by :func:`save`.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        If the file is not JSON or a field is missing or invalid; the message names
        the file and the field.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such Stark shaping file")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ValueError(f"{path}: not a JSON file ({err})") from None
    try:
        _validate(data)
    except ValueError as err:
        raise ValueError(f"{path}: {err}") from None
    return data


def _validate(data) -> None:
    """Raise ValueError ``field 'NAME': ...`` for the first missing or invalid field."""
    if not isinstance(data, dict):
        raise ValueError("expected a JSON object")
    for key in ("kind", "format_version", "order", "noise", "config", "points_by_snr"):
        if key not in data:
            raise ValueError(f"field {key!r}: missing")
    if data["kind"] != KIND:
        raise ValueError(f"field 'kind': expected {KIND!r}, got {data['kind']!r}")
    if data["format_version"] != FORMAT_VERSION:
        raise ValueError(
            f"field 'format_version': expected {FORMAT_VERSION}, "
            f"got {data['format_version']!r}"
        )
    order = data["order"]
    try:
        if isinstance(order, bool) or not isinstance(order, int):
            raise ValueError
        check_square_order(order)
    except ValueError:
        raise ValueError(f"field 'order': not a square QAM order: {order!r}") from None
    if data["noise"] != NOISE:
        raise ValueError(f"field 'noise': expected {NOISE!r}, got {data['noise']!r}")
    if not isinstance(data["config"], dict):
        raise ValueError("field 'config': expected a mapping")
    records = data["points_by_snr"]
    if not isinstance(records, list) or not records:
        raise ValueError("field 'points_by_snr': expected a non-empty list")
    for i, record in enumerate(records):
        _validate_record(record, order, f"points_by_snr[{i}]")


def _validate_record(record, order: int, where: str) -> None:
    if not isinstance(record, dict):
        raise ValueError(f"field {where!r}: expected an object")
    for key in _RECORD_FIELDS:
        if key not in record:
            raise ValueError(f"field '{where}.{key}': missing")
    for key in ("snr_db", "entropy_bits", "ce_bits", "bound_bits", "train_s"):
        if not _is_number(record[key]):
            raise ValueError(f"field '{where}.{key}': expected a finite number")
    if record["order"] != order:
        raise ValueError(
            f"field '{where}.order': {record['order']!r}, file order {order}"
        )
    points = record["points"]
    if (
        not isinstance(points, list)
        or len(points) != order
        or not all(
            isinstance(p, list) and len(p) == 2 and all(_is_number(v) for v in p)
            for p in points
        )
    ):
        raise ValueError(f"field '{where}.points': expected {order} [re, im] pairs")
    pmf = record["pmf"]
    if (
        not isinstance(pmf, list)
        or len(pmf) != order
        or not all(_is_number(v) and v >= 0 for v in pmf)
        or abs(sum(pmf) - 1.0) > 1e-6
    ):
        raise ValueError(
            f"field '{where}.pmf': expected {order} probabilities >= 0 summing to 1"
        )


def _is_number(value) -> bool:
    return (
        isinstance(value, (int, float))
        and not isinstance(value, bool)
        and math.isfinite(value)
    )


def lookup(result: dict, snr_db: float) -> tuple[np.ndarray, np.ndarray]:
    """Points and pmf of the model trained at the SNR nearest ``snr_db``.

    Parameters
    ----------
    result : dict
        A sweep (:func:`train_sweep` or :func:`load`).
    snr_db : float
        Es/N0 in dB; the nearest trained SNR must be within 1.5 dB.

    Returns
    -------
    points : complex128 ndarray (M,)
        Unit average energy under ``pmf``.
    pmf : float64 ndarray (M,)
    """
    snr_db = _check_snr(snr_db)
    records = result["points_by_snr"]
    trained = np.array([float(r["snr_db"]) for r in records])
    nearest = int(np.argmin(np.abs(trained - snr_db)))
    distance = abs(trained[nearest] - snr_db)
    if distance > LOOKUP_TOLERANCE_DB + 1e-9:
        raise ValueError(
            f"snr_db: {snr_db:g} dB is {distance:g} dB from the nearest trained SNR "
            f"({trained[nearest]:g} dB), more than {LOOKUP_TOLERANCE_DB:g} dB; "
            f"trained at {', '.join(f'{s:g}' for s in trained)} dB"
        )
    record = records[nearest]
    pairs = np.asarray(record["points"], dtype=np.float64)
    return pairs[:, 0] + 1j * pairs[:, 1], np.asarray(record["pmf"], dtype=np.float64)


# ----- command line -------------------------------------------------------------------


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``wigenai train stark``."""
    parser.add_argument(
        "--order", type=int, required=True, help="number of points: 16 or 64 (square QAM)"
    )
    parser.add_argument(
        "--snr",
        default="-10:20:2.5",
        help="Es/N0 values in dB, START:STOP:STEP or a comma list (default -10:20:2.5)",
    )
    parser.add_argument(
        "--config", metavar="FILE", help="YAML/JSON configuration (default: built-in)"
    )
    parser.add_argument(
        "--out",
        metavar="JSON",
        required=True,
        help="file to write, e.g. models/stark-16qam.json",
    )
    parser.add_argument("--seed", type=int, default=1, help="torch seed (default 1)")


def main(args: argparse.Namespace) -> int:
    """Run ``wigenai train stark`` with parsed ``args``; returns an exit status."""
    from .cli import CliError, parse_range

    try:
        order = check_square_order(args.order)
        snrs = parse_range(args.snr, "snr")
        config = load_config(args.config) if args.config else merge_config(None)
        seed = 1 if args.seed is None else int(args.seed)
    except (ValueError, OSError, CliError) as err:
        log.error("wigenai train stark: %s", err)
        return 2
    started = time.perf_counter()
    result = train_sweep(
        order, snrs, config, seed=seed, progress=not getattr(args, "quiet", False)
    )
    try:
        save(result, args.out)
    except OSError as err:
        log.error("wigenai train stark: %s", err)
        return 2
    records = result["points_by_snr"]
    summary = {
        "out": str(args.out),
        "kind": KIND,
        "order": order,
        "seed": seed,
        "snrs": snrs,
        "steps": config["steps"],
        "batch_size": config["batch_size"],
        "wall_s": round(time.perf_counter() - started, 1),
    }
    print(json.dumps(summary, indent=2))
    print(f"{'snr_db':>7} {'H':>7} {'CE':>7} {'bound':>7} {'log2(1+snr)':>11}")
    for r in records:
        capacity = math.log2(1.0 + 10.0 ** (r["snr_db"] / 10.0))
        print(
            f"{r['snr_db']:7.2f} {r['entropy_bits']:7.3f} {r['ce_bits']:7.3f} "
            f"{r['bound_bits']:7.3f} {capacity:11.3f}"
        )
    return 0
