"""Model-free end-to-end autoencoder: the learned benchmark of case study 1.

After Aoudia and Hoydis, "Model-free training of end-to-end communication systems"
(IEEE JSAC, 2019). A transmitter maps each message ``s`` in ``0..M-1`` to one complex
symbol, a neural receiver maps each received sample to ``M`` logits, and the link in
between is the :class:`~wigenai.channel.ImpairedChannel`, used as a black box: it has
quantizers, so no gradient flows through it. The two halves are trained alternately:

* receiver steps: supervised cross-entropy on samples that went through the link;
* transmitter steps: policy gradient. Each symbol ``x`` is sent as the perturbed
  ``x_p = sqrt(1 - sigma2) x + sqrt(sigma2) w`` with ``w ~ CN(0, 1)``; the receiver's
  per-sample cross-entropy ``l`` (no gradient) is the cost of the action ``x_p`` and
  the transmitter descends ``E[(l - b) grad log pi(x_p | x)]``, ``b`` the batch mean
  (a baseline: it lowers the variance of the estimate without biasing it).

The transmitter is a trainable table of ``M`` points: whatever network maps a one-hot
message, its outputs form such a table, so the table is trained directly. The points
are normalized to unit average energy over the messages, so that Es = 1 as for QAM.
The receiver is an MLP whose input is the equalized sample ``y / h`` in constellation
units; the network itself adds the companded copy ``sign(z) log(1 + |z|)`` as features:
received samples span about +-40 at -25 dB and +-2 at 0 dB, the receiver is not told the
SNR, and the compressed view lowered the cross-entropy a little (0.01 nat at 0 dB).

Bit labels: the autoencoder learns messages, not bits, and no Gray labelling. Bit error
rates count the binary digits of symbol indices, so a labelling is chosen after
training: ``gray`` (default) gives each learned point the Gray label of the QAM point it
is matched to (an optimal assignment over rotations and a reflection of the QAM grid);
``binary`` keeps the message index as label. The export orders points and logits by
label, so that in the ONNX file symbol ``s`` is point ``points[s]`` and logit ``s``.

Training needs torch; inference does not: :class:`AutoencoderReceiver` runs the exported
ONNX file with onnxruntime alone and reads the points from the file's metadata.
"""

from __future__ import annotations

import copy
import json
import logging
import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import yaml

from .channel import ImpairedChannel, LinkParams
from .receivers import Receiver

if TYPE_CHECKING:  # torch is only needed for training
    import torch

log = logging.getLogger(__name__)

METADATA_KEY = "wigenai"
KIND = "autoencoder"
FORMAT_VERSION = 1
INPUT_NAME = "y"
OUTPUT_NAME = "logits"
LABELLINGS = ("gray", "binary")
INITS = ("random", "qam")

# Defaults of every configuration key; configs/autoencoder-*.yaml documents each one.
DEFAULTS: dict[str, Any] = {
    "order": 4,
    "link": {
        "kappa_t": 0.1,
        "kappa_r": 0.1,
        "quant_bits": 4,
        "adc_bits": 4,
        "noise": "awgn",
        "fading": False,
        "dac_full_scale": 1.0,
        "adc_loading": 3.0,
        "preset": None,
        "overrides": {},
    },
    "snr_db_range": [-25.0, 0.0],
    "iterations": 3000,
    "rx_steps": 10,
    "rx_batch_size": 1024,
    "tx_batch_size": 4096,
    "rx_lr": 1e-3,
    "tx_lr": 1e-3,
    "sigma2": 0.01,
    "baseline": True,
    "final_rx_steps": 3000,
    "rx_hidden": [128, 128],
    "init": "random",
    "labelling": "gray",
    "seed": 0,
}

# Torch threads for training. The networks are small (batches of about a thousand
# samples, 128 units), so a second thread gains about 10 % on an idle machine, but on a
# machine shared with other jobs two threads ran 7 to 9 times slower than one (threads
# spin-waiting for each other, measured on the project's 2-core machines).
TRAIN_THREADS = 1

# The ONNX graph uses opset 17 and IR version 8 so that older ONNX Runtime releases
# (the C++ blocks may link an older library than the Python wheel) can load it.
_OPSET = 17
_IR_VERSION = 8


class AutoencoderModelError(ValueError):
    """An autoencoder ONNX file is missing, unreadable or of the wrong kind."""


# ----- configuration ------------------------------------------------------------------


def resolve_config(config: dict | None, source: str = "config") -> dict:
    """Merge ``config`` over :data:`DEFAULTS` and validate it.

    Unknown keys are errors (a typo must not silently train with a default). ``source``
    names the origin (a file name) in error messages.
    """
    config = {} if config is None else dict(config)
    unknown = sorted(set(config) - set(DEFAULTS))
    if unknown:
        raise ValueError(f"{source}: unknown keys {unknown}, expected {sorted(DEFAULTS)}")
    cfg = copy.deepcopy(DEFAULTS)
    link = dict(config.pop("link", None) or {})
    bad_link = sorted(set(link) - set(DEFAULTS["link"]))
    if bad_link:
        raise ValueError(f"{source}: unknown link keys {bad_link}")
    cfg["link"].update(link)
    cfg.update(config)

    try:
        _check_link(cfg)
        order = int(cfg["order"])
        if order != cfg["order"] or order < 2 or order & (order - 1):
            raise ValueError(f"order: expected a power of two >= 2, got {cfg['order']!r}")
        cfg["order"] = order
        lo, hi = (float(v) for v in cfg["snr_db_range"])
        if not (math.isfinite(lo) and math.isfinite(hi) and lo <= hi):
            raise ValueError(f"snr_db_range: expected [low, high], got {[lo, hi]}")
        cfg["snr_db_range"] = [lo, hi]
        for key in (
            "iterations",
            "rx_steps",
            "rx_batch_size",
            "tx_batch_size",
            "final_rx_steps",
            "seed",
        ):
            cfg[key] = _nonnegative_int(cfg[key], key)
        for key in ("rx_batch_size", "tx_batch_size"):
            if cfg[key] == 0:
                raise ValueError(f"{key}: must be > 0")
        for key in ("rx_lr", "tx_lr"):
            cfg[key] = float(cfg[key])
            if not cfg[key] > 0:
                raise ValueError(f"{key}: must be > 0, got {cfg[key]}")
        cfg["sigma2"] = float(cfg["sigma2"])
        if not 0 < cfg["sigma2"] < 1:
            raise ValueError(f"sigma2: must be in (0, 1), got {cfg['sigma2']}")
        cfg["baseline"] = bool(cfg["baseline"])
        cfg["rx_hidden"] = [_nonnegative_int(w, "rx_hidden") for w in cfg["rx_hidden"]]
        if not cfg["rx_hidden"] or min(cfg["rx_hidden"]) == 0:
            raise ValueError("rx_hidden: expected a non-empty list of layer widths > 0")
        if cfg["init"] not in INITS:
            raise ValueError(f"init: expected one of {INITS}, got {cfg['init']!r}")
        if cfg["labelling"] not in LABELLINGS:
            raise ValueError(
                f"labelling: expected one of {LABELLINGS}, got {cfg['labelling']!r}"
            )
        if (cfg["init"] == "qam" or cfg["labelling"] == "gray") and not _is_square(order):
            raise ValueError(
                f"order {order}: init 'qam' and labelling 'gray' need a square QAM order"
                " (4, 16, 64, ...)"
            )
    except (TypeError, ValueError) as err:
        raise ValueError(f"{source}: {err}") from None
    return cfg


def _check_link(cfg: dict) -> None:
    """Validate ``cfg["link"]``: the case-study link's keys, or a structured preset
    (``preset`` and ``overrides``, :mod:`wigenai.presets`) whose modulation must have
    ``order`` points."""
    link = cfg["link"]
    name = link.get("preset")
    if name is None:
        if link.get("overrides"):
            raise ValueError("link.overrides: needs link.preset")
        LinkParams(snr_db=0.0, **_plain_link(link))
        return
    from .constellation import Constellation
    from .presets import build, spec

    overrides = link.get("overrides") or {}
    if not isinstance(overrides, dict):
        raise ValueError("link.overrides: must be a mapping")
    try:
        values = spec(name, **overrides)
        build(values, snr_db=0.0)
    except ValueError as err:
        raise ValueError(f"link.{err}") from None
    order = Constellation.named(values["modulation"]).order
    if int(cfg["order"]) != order:
        raise ValueError(
            f"order: {cfg['order']} differs from the {order} points of link preset "
            f"{name!r}"
        )
    if cfg["iterations"]:
        raise ValueError(
            "iterations: must be 0 on a structured link: the receivers are compared on "
            "the preset's own constellation, so the transmitter stays fixed"
        )
    if cfg["init"] != "qam" or cfg["labelling"] != "gray":
        raise ValueError("init, labelling: a structured link sends 'qam' with 'gray'")


def _metadata_link(link: dict) -> dict:
    """The training link as the model file records it: the case-study keys, or the
    preset's name, overrides and every value."""
    if link.get("preset") is None:
        return _plain_link(link)
    from .presets import spec

    overrides = dict(link.get("overrides") or {})
    return {
        "preset": str(link["preset"]).lower(),
        "overrides": overrides,
        "params": spec(link["preset"], **overrides),
    }


def _plain_link(link: dict) -> dict:
    return {k: v for k, v in link.items() if k not in ("preset", "overrides")}


def load_config(path: str | os.PathLike) -> dict:
    """Read a YAML training configuration (``yaml.safe_load``) and resolve it."""
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as err:
        raise ValueError(f"{path}: cannot read config ({err.strerror})") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as err:
        raise ValueError(f"{path}: not valid YAML ({err})") from None
    if data is not None and not isinstance(data, dict):
        raise ValueError(f"{path}: expected a mapping of config keys")
    return resolve_config(data, source=str(path))


def _nonnegative_int(value, name: str) -> int:
    if isinstance(value, bool) or int(value) != value or value < 0:
        raise ValueError(f"{name}: expected an integer >= 0, got {value!r}")
    return int(value)


def _is_square(order: int) -> bool:
    side = math.isqrt(order)
    return order >= 4 and side * side == order


def _qam_points(order: int) -> np.ndarray:
    from .constellation import Constellation

    return Constellation(order).points


# ----- the model ----------------------------------------------------------------------


def companded(z: np.ndarray) -> np.ndarray:
    """The receiver's input features: ``[z, sign(z) log(1 + |z|)]``, shape (B, 4)."""
    return np.concatenate([z, np.sign(z) * np.log1p(np.abs(z))], axis=1)


def equalized(y: np.ndarray, h: np.ndarray | None) -> np.ndarray:
    """Received samples divided by the known gain, as float32 (B, 2) [re, im]."""
    z = np.asarray(y, dtype=np.complex128).reshape(-1)
    if h is not None:
        z = z / np.asarray(h, dtype=np.complex128).reshape(-1)
    return np.stack([z.real, z.imag], axis=1).astype(np.float32)


@dataclass
class Autoencoder:
    """Transmit points and receiver weights, as torch tensors.

    Attributes
    ----------
    order : int
        Number of messages M.
    raw_points : torch.Tensor, float32 (M, 2)
        Trainable transmit table before energy normalization.
    layers : list of (weight, bias)
        Receiver MLP: ``weight`` (out, in), ReLU between layers, last layer M logits.
    labels : numpy int array (M,)
        Bit label (an index whose binary digits are the bits) of each message.
    history : dict
        Training log: losses, wall time, configuration.
    """

    order: int
    raw_points: torch.Tensor
    layers: list
    labels: np.ndarray | None = None
    history: dict = field(default_factory=dict)

    @classmethod
    def initial(cls, cfg: dict, generator: torch.Generator) -> Autoencoder:
        """A fresh model: random (or QAM) points, a randomly initialized receiver."""
        import torch

        order = cfg["order"]
        if cfg["init"] == "qam":
            qam = _qam_points(order)
            raw = torch.tensor(np.stack([qam.real, qam.imag], 1), dtype=torch.float32)
        else:
            raw = torch.randn(order, 2, generator=generator) / math.sqrt(2.0)
        widths = [4, *cfg["rx_hidden"], order]
        layers = []
        for n_in, n_out in zip(widths[:-1], widths[1:], strict=True):
            bound = 1.0 / math.sqrt(n_in)  # the usual uniform fan-in initialization
            weight = (torch.rand(n_out, n_in, generator=generator) * 2 - 1) * bound
            bias = (torch.rand(n_out, generator=generator) * 2 - 1) * bound
            layers.append((weight.requires_grad_(), bias.requires_grad_()))
        return cls(order=order, raw_points=raw.requires_grad_(), layers=layers)

    def rx_parameters(self) -> list:
        return [t for layer in self.layers for t in layer]

    def points(self) -> torch.Tensor:
        """Transmit points (M, 2), unit average energy over the M messages."""
        energy = (self.raw_points**2).sum(dim=1).mean()
        return self.raw_points / energy.sqrt()

    def constellation(self) -> np.ndarray:
        """Transmit points as complex128 (M,), ``[m]`` for message ``m``.

        Normalized in double precision, so that Es = 1 holds to rounding.
        """
        raw = self.raw_points.detach().double().numpy()
        points = raw[:, 0] + 1j * raw[:, 1]
        return points / np.sqrt(np.mean(np.abs(points) ** 2))

    def logits(self, z: torch.Tensor) -> torch.Tensor:
        """Receiver logits (B, M) for equalized samples ``z`` (B, 2) [re, im]."""
        import torch

        h = torch.cat([z, torch.sign(z) * torch.log1p(torch.abs(z))], dim=1)
        for i, (weight, bias) in enumerate(self.layers):
            h = torch.nn.functional.linear(h, weight, bias)
            if i < len(self.layers) - 1:
                h = torch.relu(h)
        return h


# ----- training -----------------------------------------------------------------------


class _Link:
    """The black-box link, with the SNR drawn per batch from the training range."""

    def __init__(self, cfg: dict, rng: np.random.Generator):
        lo, hi = cfg["snr_db_range"]
        self.lo, self.hi = lo, hi
        self.rng = rng
        seed = int(rng.integers(2**63))
        if cfg["link"].get("preset") is not None:
            from .presets import preset

            self.channel = preset(
                cfg["link"]["preset"],
                hi,
                seed=seed,
                **(cfg["link"].get("overrides") or {}),
            )
        else:
            self.channel = ImpairedChannel(
                LinkParams(snr_db=hi, **_plain_link(cfg["link"])), seed=seed
            )

    def send(self, x: np.ndarray, snr_db: float | None = None) -> np.ndarray:
        """Draw an SNR (unless given), send ``x`` and return equalized (B, 2) float32."""
        if snr_db is None:
            snr_db = self.rng.uniform(self.lo, self.hi)
        self.channel.set_snr_db(snr_db)
        y, h = self.channel.transmit(x)
        return equalized(y, h)


def _as_complex(p: np.ndarray) -> np.ndarray:
    return p[:, 0].astype(np.float64) + 1j * p[:, 1].astype(np.float64)


def _receiver_step(model, optimizer, link, points, cfg, rng) -> float:
    """One supervised step of the receiver on fresh samples of the link."""
    import torch

    messages = rng.integers(cfg["order"], size=cfg["rx_batch_size"])
    z = torch.from_numpy(link.send(points[messages]))
    loss = torch.nn.functional.cross_entropy(model.logits(z), torch.from_numpy(messages))
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return loss.item()


def _transmitter_step(model, optimizer, link, cfg, rng, generator) -> float:
    """One policy-gradient step of the transmitter; returns the mean per-sample loss."""
    import torch

    sigma2 = cfg["sigma2"]
    keep = math.sqrt(1.0 - sigma2)
    messages = torch.from_numpy(rng.integers(cfg["order"], size=cfg["tx_batch_size"]))
    x = model.points()[messages]

    # The action: a Gaussian perturbation of the symbol, w ~ CN(0, 1) (1/2 per real).
    w = torch.randn(x.shape, generator=generator) * math.sqrt(0.5)
    x_p = (keep * x + math.sqrt(sigma2) * w).detach()
    z = torch.from_numpy(link.send(_as_complex(x_p.numpy())))
    with torch.no_grad():
        cost = torch.nn.functional.cross_entropy(
            model.logits(z), messages, reduction="none"
        )
    advantage = cost - cost.mean() if cfg["baseline"] else cost

    # log pi(x_p | x) of a circular Gaussian of variance sigma2, up to a constant.
    log_policy = -((x_p - keep * x) ** 2).sum(dim=1) / sigma2
    loss = (advantage * log_policy).mean()
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return float(cost.mean())


def evaluate_cross_entropy(
    model: Autoencoder, cfg: dict, snrs_db, n: int = 20000, seed: int = 1
) -> dict[float, float]:
    """Receiver cross-entropy (nats) per SNR on fresh link samples, no perturbation."""
    import torch

    rng = np.random.default_rng(seed)
    link = _Link(cfg, rng)
    points = model.constellation()
    out = {}
    with torch.no_grad():
        for snr_db in snrs_db:
            messages = rng.integers(cfg["order"], size=n)
            z = torch.from_numpy(link.send(points[messages], snr_db=float(snr_db)))
            ce = torch.nn.functional.cross_entropy(
                model.logits(z), torch.from_numpy(messages)
            )
            out[float(snr_db)] = float(ce)
    return out


def train(
    config: dict | None = None, progress: bool = True, model: Autoencoder | None = None
) -> Autoencoder:
    """Train the autoencoder on the impaired link of ``config`` (see :data:`DEFAULTS`).

    ``config["iterations"]`` alternations of ``rx_steps`` receiver steps and one
    transmitter step, then ``final_rx_steps`` receiver steps with the transmitter
    frozen (the receiver converges on the final constellation). Seeded by
    ``config["seed"]``; ``progress`` shows a tqdm bar. ``model`` continues training
    a given model (its tensors are updated in place) instead of a fresh one.
    """
    import torch
    from tqdm import tqdm

    cfg = resolve_config(config)
    torch.set_num_threads(TRAIN_THREADS)
    generator = torch.Generator().manual_seed(cfg["seed"])
    rng = np.random.default_rng(cfg["seed"])
    if model is None:
        model = Autoencoder.initial(cfg, generator)
    elif model.order != cfg["order"]:
        raise ValueError(f"model has {model.order} messages, config order {cfg['order']}")
    link = _Link(cfg, rng)
    rx_opt = torch.optim.Adam(model.rx_parameters(), lr=cfg["rx_lr"])
    tx_opt = torch.optim.Adam([model.raw_points], lr=cfg["tx_lr"])

    start = time.perf_counter()
    rx_losses, tx_losses = [], []
    total = cfg["iterations"] + cfg["final_rx_steps"]
    with tqdm(
        total=total,
        disable=not progress,
        desc="autoencoder",
        unit="it",
        dynamic_ncols=True,
    ) as bar:
        for _ in range(cfg["iterations"]):
            points = model.constellation()
            rx = [
                _receiver_step(model, rx_opt, link, points, cfg, rng)
                for _ in range(cfg["rx_steps"])
            ]
            rx_losses.append(float(np.mean(rx)) if rx else float("nan"))
            tx_losses.append(_transmitter_step(model, tx_opt, link, cfg, rng, generator))
            bar.update()
            if bar.n % 50 == 0:
                bar.set_postfix(
                    rx_ce=f"{np.mean(rx_losses[-50:]):.3f}",
                    tx_ce=f"{np.mean(tx_losses[-50:]):.3f}",
                )
        points = model.constellation()
        final = []
        for _ in range(cfg["final_rx_steps"]):
            final.append(_receiver_step(model, rx_opt, link, points, cfg, rng))
            bar.update()
    wall_s = time.perf_counter() - start

    model.labels = bit_labels(model.constellation(), cfg["labelling"])
    model.history = {
        "wall_s": wall_s,
        "rx_loss": rx_losses,
        "tx_loss": tx_losses,
        "final_rx_loss": final,
        "config": cfg,
    }
    _log_summary(model, cfg)
    return model


def _log_summary(model: Autoencoder, cfg: dict) -> None:
    hist = model.history

    def tail(values):
        return float(np.mean(values[-100:])) if values else float("nan")

    def head(values):
        return float(np.mean(values[:100])) if values else float("nan")

    lo, hi = cfg["snr_db_range"]
    ce = evaluate_cross_entropy(model, cfg, [lo, (lo + hi) / 2, hi])
    energy = float(np.mean(np.abs(model.constellation()) ** 2))
    if not hist["rx_loss"]:  # receiver-only training (a fixed transmitter)
        log.info(
            "autoencoder receiver M=%d trained in %.1f s (transmitter fixed): CE "
            "%.3f -> %.3f nats; CE at %s dB: %s",
            cfg["order"],
            hist["wall_s"],
            head(hist["final_rx_loss"]),
            tail(hist["final_rx_loss"]),
            "/".join(f"{s:g}" for s in ce),
            "/".join(f"{v:.3f}" for v in ce.values()),
        )
        return
    log.info(
        "autoencoder M=%d trained in %.1f s: receiver CE %.3f -> %.3f nats, "
        "transmitter CE %.3f -> %.3f, after final receiver steps %.3f; "
        "CE at %s dB: %s; Es = %.4f",
        cfg["order"],
        hist["wall_s"],
        head(hist["rx_loss"]),
        tail(hist["rx_loss"]),
        head(hist["tx_loss"]),
        tail(hist["tx_loss"]),
        tail(hist["final_rx_loss"]),
        "/".join(f"{s:g}" for s in ce),
        "/".join(f"{v:.3f}" for v in ce.values()),
        energy,
    )


# ----- bit labels ---------------------------------------------------------------------


def bit_labels(points: np.ndarray, labelling: str) -> np.ndarray:
    """Bit label of each message (``labels[m]``) under ``labelling``, gray or binary."""
    if labelling == "gray":
        return gray_labels(points, len(points))
    if labelling == "binary":
        return np.arange(len(points))
    raise ValueError(f"labelling: expected one of {LABELLINGS}, got {labelling!r}")


def gray_labels(points: np.ndarray, order: int, angles: int = 180) -> np.ndarray:
    """Gray-like bit labels for learned points: ``labels[m]`` for message ``m``.

    Each learned point inherits the label of one square-QAM point (the Gray labels of
    :class:`~wigenai.constellation.Constellation`), chosen by a minimum-cost one-to-one
    assignment (squared distance) against the QAM grid turned by each of ``angles``
    angles in [0, 90) degrees, with and without a reflection; the best fit wins.
    """
    from scipy.optimize import linear_sum_assignment

    qam = _qam_points(order)
    points = np.asarray(points, dtype=np.complex128).reshape(-1)
    best_cost, best = np.inf, None
    for mirrored in (False, True):
        source = np.conj(points) if mirrored else points
        for angle in np.arange(angles) * (0.5 * np.pi / angles):
            cost = np.abs(source[:, None] * np.exp(-1j * angle) - qam[None, :]) ** 2
            rows, cols = linear_sum_assignment(cost)
            total = cost[rows, cols].sum()
            if total < best_cost:
                best_cost, best = total, cols[np.argsort(rows)]
    return np.asarray(best, dtype=np.int64)


# ----- ONNX export and inference -------------------------------------------------------


def _receiver_graph(model: Autoencoder, logit_order: np.ndarray):
    """The receiver as an ONNX graph: ``y`` float32 (B, 2) -> ``logits`` (B, M).

    Output column ``k`` is the model's logit ``logit_order[k]``.
    """
    from onnx import TensorProto, helper, numpy_helper

    nodes = [
        helper.make_node("Abs", [INPUT_NAME], ["abs_y"]),
        helper.make_node("Add", ["abs_y", "one"], ["one_plus_abs_y"]),
        helper.make_node("Log", ["one_plus_abs_y"], ["log_abs_y"]),
        helper.make_node("Sign", [INPUT_NAME], ["sign_y"]),
        helper.make_node("Mul", ["sign_y", "log_abs_y"], ["companded_y"]),
        helper.make_node("Concat", [INPUT_NAME, "companded_y"], ["h0"], axis=1),
    ]
    inits = [numpy_helper.from_array(np.array(1.0, np.float32), "one")]
    current = "h0"
    for i, (weight, bias) in enumerate(model.layers):
        last = i == len(model.layers) - 1
        weight = weight.detach().numpy().astype(np.float32)
        bias = bias.detach().numpy().astype(np.float32)
        if last:
            weight, bias = weight[logit_order], bias[logit_order]
        inits.append(numpy_helper.from_array(weight, f"W{i}"))
        inits.append(numpy_helper.from_array(bias, f"b{i}"))
        out = OUTPUT_NAME if last else f"a{i + 1}"
        nodes.append(
            helper.make_node(
                "Gemm",
                [current, f"W{i}", f"b{i}"],
                [out if last else f"z{i + 1}"],
                transB=1,
            )
        )
        if not last:
            nodes.append(helper.make_node("Relu", [f"z{i + 1}"], [out]))
        current = out
    return helper.make_graph(
        nodes,
        "wigenai_autoencoder_receiver",
        [helper.make_tensor_value_info(INPUT_NAME, TensorProto.FLOAT, ["batch", 2])],
        [
            helper.make_tensor_value_info(
                OUTPUT_NAME, TensorProto.FLOAT, ["batch", model.order]
            )
        ],
        initializer=inits,
    )


def export(
    model: Autoencoder, path: str | os.PathLike, config: dict | None = None
) -> Path:
    """Write the receiver network and the transmitter's points to an ONNX file.

    The graph maps ``y`` float32 (B, 2), the equalized sample ``y / h`` as [re, im],
    to ``logits`` float32 (B, M). Metadata key ``wigenai`` holds JSON with
    ``format_version``, ``kind: "autoencoder"``, ``order``, ``points`` (a list of
    [re, im], unit average energy), the training ``link`` and ``snr_db_range``, and the
    training settings. Symbols are indexed by bit label (``config["labelling"]``): symbol
    ``s`` is sent as ``points[s]`` and scored by logit ``s``; ``messages[s]`` is the
    autoencoder's own message index of that symbol.
    """
    import onnx
    from onnx import helper

    cfg = resolve_config(
        config
        if config is not None
        else model.history.get("config", {"order": model.order})
    )
    if cfg["order"] != model.order:
        raise ValueError(f"config order {cfg['order']} != model order {model.order}")
    labels = bit_labels(model.constellation(), cfg["labelling"])
    messages = np.argsort(labels)  # messages[s]: the message that carries label s
    points = model.constellation()[messages]
    meta = {
        "format_version": FORMAT_VERSION,
        "kind": KIND,
        "order": model.order,
        "bits_per_symbol": int(math.log2(model.order)),
        "input": {
            "name": INPUT_NAME,
            "shape": ["batch", 2],
            "dtype": "float32",
            "meaning": "y / h, [re, im], constellation units (Es = 1)",
        },
        "output": {
            "name": OUTPUT_NAME,
            "shape": ["batch", model.order],
            "dtype": "float32",
            "meaning": "logit of symbol s",
        },
        "points": [[float(p.real), float(p.imag)] for p in points],
        "messages": [int(m) for m in messages],
        "labelling": cfg["labelling"],
        "link": _metadata_link(cfg["link"]),
        "snr_db_range": cfg["snr_db_range"],
        "training": {k: cfg[k] for k in DEFAULTS if k not in ("link", "snr_db_range")},
        "wall_s": model.history.get("wall_s"),
    }
    onnx_model = helper.make_model(
        _receiver_graph(model, messages),
        producer_name="gr-wigenai",
        opset_imports=[helper.make_opsetid("", _OPSET)],
        doc_string="gr-wigenai model-free autoencoder receiver (Aoudia & Hoydis 2019)",
    )
    onnx_model.ir_version = _IR_VERSION
    helper.set_model_props(onnx_model, {METADATA_KEY: json.dumps(meta)})
    onnx.checker.check_model(onnx_model)

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(onnx_model.SerializeToString())
    os.replace(tmp, path)
    log.info("wrote %s (M=%d, %s labels)", path, model.order, cfg["labelling"])
    return path


def _open_session(path: Path):
    """An onnxruntime session of ``path`` (one thread), or a clear error."""
    import onnxruntime as ort

    if not path.is_file():
        raise AutoencoderModelError(f"{path}: no such model file")
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1  # see TRAIN_THREADS
    try:
        return ort.InferenceSession(
            str(path), options, providers=["CPUExecutionProvider"]
        )
    except Exception as err:  # ORT raises its own types for corrupt or invalid files
        raise AutoencoderModelError(
            f"{path}: not a loadable ONNX model ({err})"
        ) from None


def read_metadata(path: str | os.PathLike, session=None) -> dict:
    """The ``wigenai`` metadata of an autoencoder ONNX file, checked.

    Reads it through onnxruntime (``session`` if given, else a new one). Raises
    :class:`AutoencoderModelError` naming the file when it is missing, not an ONNX
    model, lacks the metadata, or holds another kind of model.
    """
    path = Path(path)
    if session is None:
        session = _open_session(path)
    props = session.get_modelmeta().custom_metadata_map
    if METADATA_KEY not in props:
        raise AutoencoderModelError(
            f"{path}: no '{METADATA_KEY}' metadata; not a gr-wigenai model"
        )
    try:
        meta = json.loads(props[METADATA_KEY])
    except json.JSONDecodeError as err:
        raise AutoencoderModelError(
            f"{path}: '{METADATA_KEY}' metadata is not JSON ({err})"
        ) from None
    if not isinstance(meta, dict):
        raise AutoencoderModelError(f"{path}: '{METADATA_KEY}' metadata is not an object")
    if meta.get("kind") != KIND:
        raise AutoencoderModelError(
            f"{path}: model kind is {meta.get('kind')!r}, expected '{KIND}'"
        )
    if meta.get("format_version") != FORMAT_VERSION:
        raise AutoencoderModelError(
            f"{path}: format_version {meta.get('format_version')!r} not supported "
            f"(expected {FORMAT_VERSION})"
        )
    try:
        order = int(meta["order"])
        points = np.asarray(meta["points"], dtype=np.float64)
    except (KeyError, TypeError, ValueError) as err:
        raise AutoencoderModelError(f"{path}: bad autoencoder metadata ({err})") from None
    if order < 2 or order & (order - 1) or points.shape != (order, 2):
        raise AutoencoderModelError(
            f"{path}: metadata needs a power-of-two order and that many points "
            f"[re, im], got order {order} and points of shape {points.shape}"
        )
    return meta


class AutoencoderReceiver(Receiver):
    """The trained autoencoder as a :class:`~wigenai.receivers.Receiver` ("ae").

    Loads the ONNX file with onnxruntime only. ``points[s]`` is the learned point of
    symbol ``s`` (whose bits are the binary digits of ``s``); :meth:`decide` returns
    symbol indices.

    Parameters
    ----------
    path : str or Path
        ONNX file written by :func:`export`.
    chunk : int
        Samples per onnxruntime call (bounds memory).
    """

    name = "ae"

    def __init__(self, path: str | os.PathLike, chunk: int = 1 << 16):
        self.path = Path(path)
        self.session = _open_session(self.path)
        self.metadata = read_metadata(self.path, self.session)
        order = int(self.metadata["order"])
        points = np.asarray(self.metadata["points"], dtype=np.float64)
        super().__init__(points[:, 0] + 1j * points[:, 1], int(round(math.log2(order))))
        self.order = order
        self.chunk = int(chunk)

        inputs = [(i.name, i.shape) for i in self.session.get_inputs()]
        outputs = [(o.name, o.shape) for o in self.session.get_outputs()]
        if [n for n, _ in inputs] != [INPUT_NAME] or inputs[0][1][-1] != 2:
            raise AutoencoderModelError(
                f"{self.path}: model expects inputs {inputs}, want '{INPUT_NAME}' (B, 2)"
            )
        if [n for n, _ in outputs] != [OUTPUT_NAME] or outputs[0][1][-1] != order:
            raise AutoencoderModelError(
                f"{self.path}: model outputs {outputs}, want '{OUTPUT_NAME}' (B, {order})"
            )

    def logits(self, y: np.ndarray, h: np.ndarray | None = None) -> np.ndarray:
        """Receiver logits (N, M) of ``y / h``; column ``s`` scores symbol ``s``."""
        z = equalized(y, h)
        parts = [
            self.session.run([OUTPUT_NAME], {INPUT_NAME: z[i : i + self.chunk]})[0]
            for i in range(0, len(z), self.chunk)
        ]
        return np.concatenate(parts) if parts else np.empty((0, self.order), np.float32)

    def decide(self, y, h, channel=None) -> np.ndarray:
        """Symbol indices (whose binary digits are the bits) decided for ``y``."""
        return np.argmax(self.logits(y, h), axis=1)


# ----- command line -------------------------------------------------------------------


def add_arguments(parser) -> None:
    """Options of ``wigenai train autoencoder``."""
    parser.add_argument(
        "--config",
        required=True,
        help="YAML training configuration, e.g. configs/autoencoder-qpsk.yaml",
    )
    parser.add_argument("--out", required=True, help="ONNX file to write")
    parser.add_argument(
        "--seed", type=int, default=None, help="override the config's seed"
    )
    parser.add_argument(
        "--no-progress", action="store_true", help="hide the progress bar"
    )


def main(args) -> int:
    """Train from ``args.config`` and export to ``args.out``; returns an exit status."""
    try:
        cfg = load_config(args.config)
        if args.seed is not None:
            cfg = resolve_config({**cfg, "seed": args.seed}, source=str(args.config))
    except ValueError as err:
        log.error("%s", err)
        return 2
    quiet = getattr(args, "no_progress", False) or getattr(args, "quiet", False)
    model = train(cfg, progress=not quiet)
    try:
        export(model, args.out, cfg)
    except OSError as err:
        log.error("%s: cannot write the model (%s)", args.out, err.strerror or err)
        return 1
    return 0


if __name__ == "__main__":  # python -m wigenai.autoencoder --config FILE --out FILE
    import argparse
    import sys

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    _parser = argparse.ArgumentParser(
        prog="python -m wigenai.autoencoder",
        description="Train the autoencoder benchmark.",
    )
    # Run the package's copy of this module, so that its logger is wigenai.autoencoder.
    from wigenai import autoencoder as _package_module

    _package_module.add_arguments(_parser)
    sys.exit(_package_module.main(_parser.parse_args()))
