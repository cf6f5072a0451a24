"""Train the receiver's denoising DDPM (case study 1) and export it as ONNX.

``wigenai train denoiser --config FILE --out models/NAME.onnx [--seed S]``

Training data is drawn on the fly from :class:`wigenai.channel.ImpairedChannel`: the
clean sample ``x0`` is a uniformly chosen constellation point as the transmit DAC puts
it on the air, times ``input_scale``; the network learns to predict the Gaussian noise
``eps`` of ``x_t = sqrt(abar_t) x0 + sqrt(1 - abar_t) eps``. The conditional variant
also sees the received sample of the same symbol through the whole link (distortion,
ADC, noise at an SNR drawn from ``snr_db_range``), scaled to the chain's start state.

Configuration keys (YAML or JSON; every key optional, defaults below)
====================================================================

==========================  ============  ==============================================
key                         default       meaning
==========================  ============  ==============================================
kind                        denoiser      denoiser (receiver) or shaper (transmitter,
                                          ``wigenai train shaper``; unconditional only)
modulation                  qpsk          qpsk, 16qam or 64qam
variant                     unconditional unconditional (x_t) or conditional (x_t, y)
seed                        1             seeds numpy (channel) and torch
link.kappa_t                0.1           transmit distortion (Bjornson), rms / signal
link.kappa_r                0.1           receive distortion
link.quant_bits             4             transmit DAC bits per I and Q (0 = off)
link.adc_bits               4             receive ADC bits per I and Q (0 = off)
link.dac_full_scale         1.0           DAC full scale per real dimension
link.adc_loading            3.0           ADC full scale / rms of its input
link.noise                  awgn          noise law of the training link
link.snr_db_range           [-25, 0]      Es/N0 range served, dB
link.preset                 null          a structured link of :mod:`wigenai.presets`
                                          (``pluto-like``, ``harsh``...) instead of
                                          the kappa/DAC/ADC link above (whose keys
                                          are then ignored, except the SNR range)
link.overrides              {}            preset parameters to change, e.g.
                                          ``{pa_backoff_db: 3.0}``
diffusion.T                 100           diffusion steps
diffusion.schedule          sigmoid       sigmoid, linear or cosine
diffusion.beta_start        3.0e-4        first beta (1e-5 x 30; null: schedule default)
diffusion.beta_end          0.15          last beta (5e-3 x 30: T=100 reaches -35 dB)
diffusion.input_scale       1.41421356    symbol -> network units (unit var per dim)
diffusion.step_margin_db    5.0           train steps down to snr_min - margin
diffusion.start             matched       where the receiver's chain starts: ``matched``
                                          (the received sample at the step matched to
                                          the SNR) or ``prior`` (conditional only: the
                                          prior mean 0 at the last step, the received
                                          sample entering only as the condition)
diffusion.prior             transmitted   what the network generates: ``transmitted``
                                          (the sent points) or ``impaired`` (a
                                          preset's noiseless received cloud: the
                                          points after PA, IQ, phase noise, DC)
diffusion.decision_points   512           impaired prior: noiseless samples per point
                                          kept in the model; an estimate's symbol is
                                          the label of the nearest one
network.hidden              128           hidden width (paper)
network.layers              3             time-gated hidden layers (paper)
training.steps              50000         optimizer steps
training.batch_size         128           samples per step
training.lr                 1.0e-3        Adam learning rate
training.lr_final           1.0e-4        cosine decay of the rate down to this
training.grad_clip          1.0           gradient norm clip
training.ema_decay          0.995         EMA of the weights (exported); 0 = raw
training.threads            1             torch intra-op threads (see below)
training.data_block         65536         symbols drawn from the channel per refill
==========================  ============  ==============================================

Steps trained: ``t`` is drawn uniformly from ``0 .. t_hi`` where ``t_hi`` matches
``snr_min - step_margin_db`` (steps for lower SNRs are never used by the samplers).
Conditional variant: ``t`` is drawn from ``0 .. t*`` of each sample's own SNR;
with ``start: prior`` from every step ``0 .. T-1``.

Structured links (``link.preset``): the received sample is not a noisier copy of the
sent point (the PA compresses it, the IQ mixer shears it, the phase noise turns it).
Two ways to learn such a link:

- ``prior: impaired`` (unconditional): ``x0`` is the noiseless received sample, every
  stage of the preset before the thermal noise and the ADC. The received sample then
  *is* a noisier copy of ``x0``, so the chain starts from it at the step matched to
  the SNR as on the paper's link, and lands on the learned cloud; the symbol is the
  label of the nearest of ``decision_points`` noiseless samples per point, drawn
  through the link at export and stored in the model (contract field ``decision``).
- ``variant: conditional`` with ``start: prior``: ``x0`` is the sent point, the
  condition the received sample; the network learns the whole law ``p(x0 | y)`` and
  the receiver runs DDIM from the prior's mean. Measured worse (the report, section
  6): at the last steps the epsilon prediction carries x0 only through a factor
  ``sqrt(abar)`` of a few percent.
"""

from __future__ import annotations

import argparse
import copy
import json
import logging
import math
import os
import time

import numpy as np
import yaml

from .channel import ImpairedChannel, LinkParams
from .constellation import Constellation, order_of
from .model_contract import (
    KINDS,
    PRIORS,
    STARTS,
    Contract,
    DiffusionSchedule,
    beta_schedule,
    constellation_entry,
    effective_snr,
)

log = logging.getLogger(__name__)

DEFAULTS = {
    "kind": "denoiser",
    "modulation": "qpsk",
    "variant": "unconditional",
    "seed": 1,
    "link": {
        "kappa_t": 0.1,
        "kappa_r": 0.1,
        "quant_bits": 4,
        "adc_bits": 4,
        "dac_full_scale": 1.0,
        "adc_loading": 3.0,
        "noise": "awgn",
        "snr_db_range": [-25.0, 0.0],
        "preset": None,
        "overrides": {},
    },
    "diffusion": {
        "T": 100,
        "schedule": "sigmoid",
        "beta_start": 3.0e-4,
        "beta_end": 0.15,
        "input_scale": math.sqrt(2.0),
        "step_margin_db": 5.0,
        "start": "matched",
        "prior": "transmitted",
        "decision_points": 512,
    },
    "network": {"hidden": 128, "layers": 3},
    "training": {
        "steps": 50000,
        "batch_size": 128,
        "lr": 1.0e-3,
        "lr_final": 1.0e-4,
        "grad_clip": 1.0,
        "ema_decay": 0.995,
        "threads": 1,
        "data_block": 65536,
    },
}


def merge_config(config: dict | None) -> dict:
    """Defaults overridden by ``config``; unknown keys raise ``ValueError``."""
    merged = copy.deepcopy(DEFAULTS)
    for key, value in (config or {}).items():
        if key not in merged:
            raise ValueError(
                f"config: unknown key {key!r}, expected one of {sorted(merged)}"
            )
        if isinstance(merged[key], dict):
            if not isinstance(value, dict):
                raise ValueError(f"config: {key!r} must be a mapping")
            for sub, sub_value in value.items():
                if sub not in merged[key]:
                    raise ValueError(
                        f"config: unknown key '{key}.{sub}', expected one "
                        f"of {sorted(merged[key])}"
                    )
                merged[key][sub] = sub_value
        else:
            merged[key] = value
    if merged["variant"] not in ("unconditional", "conditional"):
        raise ValueError(
            f"config: variant {merged['variant']!r} is not 'unconditional'"
            " or 'conditional'"
        )
    if merged["kind"] not in KINDS:
        raise ValueError(f"config: kind {merged['kind']!r} is not one of {KINDS}")
    if merged["kind"] == "shaper" and merged["variant"] != "unconditional":
        raise ValueError(
            "config: a shaper generates symbols from noise alone, so its variant "
            f"must be 'unconditional', got {merged['variant']!r}"
        )
    order_of(merged["modulation"])
    lo, hi = (float(v) for v in merged["link"]["snr_db_range"])
    if not lo <= hi:
        raise ValueError(f"config: link.snr_db_range {[lo, hi]} must be [low, high]")
    _check_preset(merged)
    _check_numbers(merged)
    return merged


# (section, key, smallest allowed value, whether the bound itself is allowed)
_LOWER_BOUNDS = [
    ("training", "steps", 1, True),
    ("training", "batch_size", 1, True),
    ("training", "lr", 0, False),
    ("training", "lr_final", 0, False),
    ("training", "grad_clip", 0, False),
    ("training", "ema_decay", 0, True),
    ("training", "threads", 1, True),
    ("diffusion", "T", 2, True),
    ("diffusion", "input_scale", 0, False),
    ("network", "hidden", 1, True),
    ("network", "layers", 1, True),
]


def _check_numbers(config: dict) -> None:
    for section, key, bound, inclusive in _LOWER_BOUNDS:
        value = config[section][key]
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        ok = (
            ok
            and math.isfinite(value)
            and (value >= bound if inclusive else value > bound)
        )
        if not ok:
            relation = ">=" if inclusive else ">"
            raise ValueError(
                f"config: {section}.{key} must be a number {relation} "
                f"{bound}, got {value!r}"
            )
    if config["training"]["ema_decay"] >= 1:
        raise ValueError("config: training.ema_decay must be < 1")
    if config["training"]["data_block"] < config["training"]["batch_size"]:
        raise ValueError("config: training.data_block must be >= training.batch_size")


def _check_preset(config: dict) -> None:
    from .presets import build, spec

    link, diffusion = config["link"], config["diffusion"]
    if diffusion["start"] not in STARTS:
        raise ValueError(
            f"config: diffusion.start {diffusion['start']!r} is not one of {STARTS}"
        )
    if diffusion["start"] == "prior" and config["variant"] != "conditional":
        raise ValueError(
            "config: diffusion.start 'prior' needs variant 'conditional' (from the "
            "prior alone an unconditional chain ignores the received sample)"
        )
    if diffusion["prior"] not in PRIORS:
        raise ValueError(
            f"config: diffusion.prior {diffusion['prior']!r} is not one of {PRIORS}"
        )
    if diffusion["prior"] == "impaired" and (
        link["preset"] is None or diffusion["start"] != "matched"
    ):
        raise ValueError(
            "config: diffusion.prior 'impaired' needs link.preset (a structured link "
            "whose noiseless received cloud it learns) and diffusion.start 'matched'"
        )
    count = diffusion["decision_points"]
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise ValueError(
            f"config: diffusion.decision_points must be an integer >= 1, got {count!r}"
        )
    overrides = link["overrides"] or {}
    if not isinstance(overrides, dict):
        raise ValueError("config: link.overrides must be a mapping")
    if link["preset"] is None:
        if overrides:
            raise ValueError("config: link.overrides needs link.preset")
        return
    try:
        values = spec(link["preset"], **overrides)
        build(values, snr_db=0.0)
    except ValueError as err:
        raise ValueError(f"config: link.{err}") from None
    if values["modulation"] != config["modulation"]:
        raise ValueError(
            f"config: modulation {config['modulation']!r} differs from the "
            f"modulation {values['modulation']!r} of link.preset "
            f"{link['preset']!r} (set link.overrides.modulation to change it)"
        )


def load_config(path: str) -> dict:
    """Read a YAML (or JSON) configuration file with ``yaml.safe_load``."""
    with open(path, encoding="utf-8") as handle:
        config = yaml.safe_load(handle) or {}
    if not isinstance(config, dict):
        raise ValueError(f"{path}: configuration must be a mapping")
    return config


def _link(config: dict, snr_db: float) -> LinkParams:
    link = config["link"]
    return LinkParams(
        snr_db=snr_db,
        kappa_t=link["kappa_t"],
        kappa_r=link["kappa_r"],
        quant_bits=link["quant_bits"],
        adc_bits=link["adc_bits"],
        noise=link["noise"],
        dac_full_scale=link["dac_full_scale"],
        adc_loading=link["adc_loading"],
    )


class TrainingData:
    """Refillable pool of training samples drawn from the impaired link.

    Each refill draws ``data_block`` symbols; unconditional samples need only the DAC
    output, conditional ones the whole link, in sub-blocks of one SNR each (the
    channel has one SNR at a time) drawn uniformly in dB from ``snr_db_range``.
    """

    SNR_BLOCK = 1024

    def __init__(self, config: dict, schedule: DiffusionSchedule, seed: int):
        self.config = config
        self.schedule = schedule
        self.rng = np.random.default_rng(seed)
        self.constellation = Constellation.named(config["modulation"])
        self.structured = config["link"]["preset"] is not None
        self.prior_start = config["diffusion"]["start"] == "prior"
        self.impaired_prior = config["diffusion"]["prior"] == "impaired"
        if self.structured:
            from .presets import preset

            self.channel = preset(
                config["link"]["preset"],
                0.0,
                seed=seed + 1,
                **(config["link"]["overrides"] or {}),
            )
        else:
            self.channel = ImpairedChannel(_link(config, 0.0), seed=seed + 1)
        self.conditional = config["variant"] == "conditional"
        self.block = int(config["training"]["data_block"])
        lo, hi = (float(v) for v in config["link"]["snr_db_range"])
        self.snr_range = (lo, hi)
        margin = float(config["diffusion"]["step_margin_db"])
        if self.prior_start:
            self.t_hi = schedule.T - 1
        else:
            self.t_hi = schedule.start_step(self._snr(lo - margin))
        self._fill()

    def _snr(self, snr_db: float) -> float:
        """Effective Es/N0 (ratio) the matched start step is chosen for."""
        if self.structured:
            return 10.0 ** (snr_db / 10.0)
        return effective_snr(_link(self.config, snr_db))

    def _fill(self) -> None:
        n = self.block
        index = self.rng.integers(0, self.constellation.order, n)
        symbols = self.constellation.map(index)
        if self.impaired_prior:
            # The noiseless received cloud: every stage before the noise and ADC.
            sent = self.channel.impair(symbols) * self.schedule.input_scale
        elif self.structured:
            sent = symbols * self.schedule.input_scale
        else:
            sent = self.channel.dac(symbols) * self.schedule.input_scale
        self.x0 = np.stack([sent.real, sent.imag], axis=1).astype(np.float32)
        if self.conditional:
            self.cond, self.t_top = self._received(symbols)
            # Sub-blocks share an SNR: shuffle so that every batch mixes SNRs.
            order = self.rng.permutation(n)
            self.x0, self.cond, self.t_top = (
                self.x0[order],
                self.cond[order],
                self.t_top[order],
            )
        else:
            self.cond, self.t_top = None, np.full(n, self.t_hi, dtype=np.int64)
        self.pos = 0

    def _received(self, symbols: np.ndarray):
        cond = np.empty((symbols.size, 2), dtype=np.float32)
        t_top = np.empty(symbols.size, dtype=np.int64)
        for lo in range(0, symbols.size, self.SNR_BLOCK):
            part = slice(lo, lo + self.SNR_BLOCK)
            self.channel.set_snr_db(self.rng.uniform(*self.snr_range))
            y, _ = self.channel.transmit(symbols[part])
            if self.prior_start:
                step = self.t_hi
                cond[part] = self.schedule.condition(y)
            else:
                step = self.schedule.start_step(self._snr(self.channel.params.snr_db))
                cond[part] = self.schedule.start_state(y, step)
            t_top[part] = step
        return cond, t_top

    def batch(self, size: int):
        """(x0, cond or None, highest step) for ``size`` samples."""
        if self.pos + size > self.block:
            self._fill()
        part = slice(self.pos, self.pos + size)
        self.pos += size
        cond = None if self.cond is None else self.cond[part]
        return self.x0[part], cond, self.t_top[part]


def contract_link(config: dict) -> dict:
    """The contract's ``training_link``: the link keys, or the preset's full values."""
    link = config["link"]
    if link["preset"] is None:
        keys = [k for k in DEFAULTS["link"] if k not in ("preset", "overrides")]
        return {k: link[k] for k in keys}
    from .presets import spec

    overrides = dict(link["overrides"] or {})
    values = spec(link["preset"], **overrides)
    return {
        "preset": str(link["preset"]).lower(),
        "overrides": overrides,
        "params": values,
        "noise": values["noise"],
        "snr_db_range": [float(v) for v in link["snr_db_range"]],
    }


def _decision_cloud(config: dict, data: TrainingData) -> dict:
    """``decision_points`` noiseless impaired samples of every point (an impaired
    prior's decision rule), drawn through a copy of the link with its own seed."""
    per_point = int(config["diffusion"]["decision_points"])
    link = data.channel.spawn([int(config["seed"]), 17])
    order = data.constellation.order
    labels = np.tile(np.arange(order), per_point)
    cloud = link.impair(data.constellation.map(labels))
    return {
        "points": [[float(z.real), float(z.imag)] for z in cloud],
        "labels": [int(m) for m in labels],
    }


def loss_curve(losses: list, points: int = 10) -> list:
    """Mean loss over ``points`` equal windows of the run."""
    chunks = np.array_split(np.asarray(losses, dtype=np.float64), points)
    return [float(c.mean()) for c in chunks if c.size]


def run(config: dict, out_path: str, progress: bool = True) -> dict:
    """Train a denoiser as configured and write it to ``out_path`` (ONNX + contract).

    ``config``: nested mapping of the keys in the module docstring (missing keys take
    their defaults); ``progress``: show a tqdm bar. Returns a summary: wall time, loss
    curve (mean loss over 10 equal windows), steps trained, file size, settings.
    """
    import torch
    from tqdm import tqdm

    from .ddpm import Ema, EpsilonNetwork, export_onnx

    config = merge_config(config)
    train, diff, net_cfg = config["training"], config["diffusion"], config["network"]
    seed = int(config["seed"])
    torch.set_num_threads(int(train["threads"]))
    torch.manual_seed(seed)
    started = time.monotonic()

    betas = beta_schedule(
        diff["schedule"], diff["T"], diff["beta_start"], diff["beta_end"]
    )
    schedule = DiffusionSchedule(betas, float(diff["input_scale"]))
    data = TrainingData(config, schedule, seed)
    conditional = config["variant"] == "conditional"
    model = EpsilonNetwork(
        schedule.T,
        4 if conditional else 2,
        int(net_cfg["hidden"]),
        int(net_cfg["layers"]),
    )
    ema = Ema(model, float(train["ema_decay"]))
    optimizer = torch.optim.Adam(model.parameters(), lr=float(train["lr"]))
    steps = int(train["steps"])
    lr_ratio = float(train["lr_final"]) / float(train["lr"])
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer,
        lambda k: lr_ratio + (1 - lr_ratio) * 0.5 * (1 + math.cos(math.pi * k / steps)),
    )
    sqrt_ab = torch.tensor(np.sqrt(schedule.alpha_bar), dtype=torch.float32)
    sqrt_1m_ab = torch.tensor(np.sqrt(1.0 - schedule.alpha_bar), dtype=torch.float32)
    generator = torch.Generator().manual_seed(seed)
    batch_size = int(train["batch_size"])
    log.info(
        "training %s %s %s: T=%d, steps 0..%d for %s dB, %d x %d samples",
        config["variant"],
        config["modulation"],
        config["kind"],
        schedule.T,
        data.t_hi,
        config["link"]["snr_db_range"],
        steps,
        batch_size,
    )

    losses = []
    bar = tqdm(
        range(steps),
        desc=config["kind"],
        unit="step",
        mininterval=2.0,
        disable=not progress,
    )
    for k in bar:
        x0_np, cond_np, t_top = data.batch(batch_size)
        x0 = torch.from_numpy(x0_np)
        t = (
            torch.rand(batch_size, generator=generator) * torch.from_numpy(t_top + 1)
        ).long()
        eps = torch.randn(x0.shape, generator=generator)
        x_t = sqrt_ab[t, None] * x0 + sqrt_1m_ab[t, None] * eps
        if conditional:
            x_t = torch.cat([x_t, torch.from_numpy(cond_np)], dim=1)

        loss = torch.mean((model(x_t, t) - eps) ** 2)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), float(train["grad_clip"]))
        optimizer.step()
        scheduler.step()
        ema.update(model)
        losses.append(loss.item())
        if k % 500 == 0:
            bar.set_postfix(loss=f"{np.mean(losses[-500:]):.4f}")
    bar.close()
    train_s = time.monotonic() - started

    contract = Contract(
        kind=config["kind"],
        variant=config["variant"],
        betas=[float(b) for b in betas],
        constellation=constellation_entry(
            config["modulation"], data.constellation.points
        ),
        input_scale=float(diff["input_scale"]),
        schedule=str(diff["schedule"]),
        training_link=contract_link(config),
        start=str(diff["start"]),
        prior=str(diff["prior"]),
        decision=_decision_cloud(config, data) if data.impaired_prior else {},
        network={
            "hidden": int(net_cfg["hidden"]),
            "layers": int(net_cfg["layers"]),
            "activation": "softplus",
            "time_embedding": "multiplicative gate",
            "in_features": model.in_features,
        },
        ema=float(train["ema_decay"]) or None,
        training={
            "seed": seed,
            "steps": steps,
            "batch_size": batch_size,
            "lr": float(train["lr"]),
            "t_hi": int(data.t_hi),
        },
    )
    export_onnx(ema.model if train["ema_decay"] else model, contract, out_path)

    curve = loss_curve(losses)
    log.info("loss at 10 points: %s", " ".join(f"{v:.4f}" for v in curve))
    summary = {
        "out": out_path,
        "kind": config["kind"],
        "variant": config["variant"],
        "modulation": config["modulation"],
        "steps": steps,
        "batch_size": batch_size,
        "t_hi": int(data.t_hi),
        "loss_curve": curve,
        "final_loss": curve[-1],
        "train_s": round(train_s, 1),
        "wall_s": round(time.monotonic() - started, 1),
        "bytes": os.path.getsize(out_path),
        "config": config,
    }
    log.info(
        "trained in %.0f s, wrote %s (%d bytes)",
        summary["wall_s"],
        out_path,
        summary["bytes"],
    )
    return summary


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``wigenai train denoiser``."""
    parser.add_argument(
        "--config",
        metavar="FILE",
        help="YAML/JSON configuration (default: built-in defaults)",
    )
    parser.add_argument(
        "--out",
        metavar="ONNX",
        required=True,
        help="model file to write, e.g. models/denoiser-qpsk.onnx",
    )
    parser.add_argument("--seed", type=int, help="override the configuration's seed")


def main(args: argparse.Namespace) -> int:
    """Run ``wigenai train denoiser`` with parsed ``args``; returns an exit status."""
    try:
        config = load_config(args.config) if args.config else {}
        if args.seed is not None:
            config["seed"] = args.seed
        summary = run(config, args.out, progress=not getattr(args, "quiet", False))
    except (ValueError, OSError, yaml.YAMLError) as err:
        log.error("wigenai train denoiser: %s", err)
        return 2
    report = {k: v for k, v in summary.items() if k != "config"}
    print(json.dumps(report, indent=2))
    return 0
