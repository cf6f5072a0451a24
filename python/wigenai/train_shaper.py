"""Train the transmitter's shaping DDPM (case study 2) and export it as ONNX.

``wigenai train shaper --order 16|64 [--config FILE] --out models/NAME.onnx [--seed S]``

The shaper is the paper's network trained exactly like the unconditional denoiser
(:mod:`wigenai.train_denoiser`, one implementation), with two differences of data:
it learns the nominal constellation (no transmit DAC, no hardware distortion: it runs
inside the transmitter, before any of them) and it serves the SNR range of the
shaping sweep. Its contract says ``kind: shaper``, so a receiver refuses it and the
shaper refuses a denoiser. The configuration keys are those of the denoiser; the
defaults that differ are below.

==========================  ============  ==============================================
key                         default       meaning
==========================  ============  ==============================================
kind                        shaper        fixed
modulation                  from --order  16qam or 64qam
link.kappa_t, link.kappa_r  0             no distortion in the training data
link.quant_bits, adc_bits   0             no converters
link.snr_db_range           [-10, 20]     Es/N0 range served (the sweep of Fig. 4)
==========================  ============  ==============================================
"""

from __future__ import annotations

import argparse
import copy
import json
import logging

import yaml

from . import train_denoiser
from .constellation import Constellation, check_square_order

log = logging.getLogger(__name__)

SHAPER_DEFAULTS = {
    "kind": "shaper",
    "variant": "unconditional",
    "link": {
        "kappa_t": 0.0,
        "kappa_r": 0.0,
        "quant_bits": 0,
        "adc_bits": 0,
        "snr_db_range": [-10.0, 20.0],
    },
}


def shaper_config(order: int, config: dict | None = None) -> dict:
    """The full training configuration of a shaper for ``order`` points.

    ``config`` (the user's file) overrides the shaper defaults, which override the
    denoiser's; ``kind`` must stay ``shaper`` and ``modulation`` must match ``order``.
    """
    order = check_square_order(order)
    modulation = Constellation(order).name
    merged = copy.deepcopy(SHAPER_DEFAULTS)
    merged["modulation"] = modulation
    for key, value in (config or {}).items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key].update(value)
        else:
            merged[key] = value
    if merged["kind"] != "shaper":
        raise ValueError(f"config: kind must be 'shaper' here, got {merged['kind']!r}")
    if merged["modulation"] != modulation:
        raise ValueError(
            f"config: modulation {merged['modulation']!r} disagrees with --order {order}"
        )
    return train_denoiser.merge_config(merged)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``wigenai train shaper``."""
    parser.add_argument("--order", type=int, required=True, help="16 or 64 (square QAM)")
    parser.add_argument("--config", help="YAML/JSON configuration (default: built-in)")
    parser.add_argument("--out", required=True, help="model file to write (.onnx)")
    parser.add_argument("--seed", type=int, help="override the configuration's seed")


def main(args: argparse.Namespace) -> int:
    """Run ``wigenai train shaper`` with parsed ``args``; returns an exit status."""
    try:
        config = train_denoiser.load_config(args.config) if args.config else {}
        if args.seed is not None:
            config["seed"] = args.seed
        merged = shaper_config(args.order, config)
        summary = train_denoiser.run(
            merged, args.out, progress=not getattr(args, "quiet", False)
        )
    except (ValueError, OSError, yaml.YAMLError) as err:
        log.error("wigenai train shaper: %s", err)
        return 2
    print(json.dumps({k: v for k, v in summary.items() if k != "config"}, indent=2))
    return 0
