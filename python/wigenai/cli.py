"""The ``wigenai`` command line: BER and MI sweeps, training, benchmarks and replay.

Every sub-command prints a table, and can write JSON records and a plot.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import sys

import numpy as np

from .channel import NOISE_LAWS, LinkParams
from .constellation import MODULATIONS, Constellation

log = logging.getLogger("wigenai")

# The link the shipped denoisers were trained for (case study 1 of the paper):
# transceiver distortion kappa_t = kappa_r = 0.1, 4-bit DAC, 4-bit ADC with AGC.
DEFAULT_LINK = {"kappa_t": 0.1, "kappa_r": 0.1, "quant_bits": 4, "adc_bits": 4}


class CliError(Exception):
    """A user error: printed as one line, exit status 2."""


def parse_range(text: str, name: str = "snr") -> list[float]:
    """``START:STOP:STEP`` (inclusive), ``a,b,c`` or a single value, in dB."""
    try:
        if ":" in text:
            start, stop, step = (float(v) for v in text.split(":"))
            if (
                not all(math.isfinite(v) for v in (start, stop, step))
                or step <= 0
                or stop < start
            ):
                raise ValueError
            n = int(math.floor((stop - start) / step + 1e-9)) + 1
            values = [start + i * step for i in range(n)]
        else:
            values = [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise CliError(
            f"--{name}: expected START:STOP:STEP with STEP > 0 and "
            f"STOP >= START, or a comma list, got {text!r}"
        ) from None
    if not values or not all(math.isfinite(v) for v in values):
        raise CliError(f"--{name}: values must be finite numbers, got {text!r}")
    return [round(v, 6) for v in values]


def _link_from_args(args) -> LinkParams:
    values = {}
    for key, default in DEFAULT_LINK.items():
        given = getattr(args, key)
        values[key] = default if given is None else given
    try:
        return LinkParams(
            snr_db=0.0,
            noise=args.noise,
            fading=args.fading,
            adc_loading=args.adc_loading,
            **values,
        )
    except ValueError as err:
        raise CliError(
            f"--{str(err).split(':')[0].replace('_', '-')}: "
            f"{str(err).split(':', 1)[1].strip()}"
        ) from None


def _make_receivers(names: list[str], modulation: str, args) -> list:
    from .receivers import BitMapReceiver, MapReceiver, NearestReceiver

    constellation = Constellation.named(modulation)
    out = []
    for name in names:
        if name == "nearest":
            out.append(NearestReceiver(constellation))
        elif name == "map":
            out.append(MapReceiver(constellation))
        elif name == "map-bit":
            out.append(BitMapReceiver(constellation))
        elif name == "ddpm":
            out.append(_ddpm_receiver(modulation, args))
        elif name == "ae":
            out.append(_ae_receiver(modulation, args))
        else:
            raise CliError(
                f"--receivers: unknown receiver {name!r}, expected "
                "nearest, map, map-bit, ddpm or ae"
            )
    return out


def _ddpm_receiver(modulation, args):
    from .ort_sampler import DdpmReceiver
    from .paths import default_model

    path = args.ddpm_model or default_model("denoiser", modulation)
    return DdpmReceiver(str(path), **_ddpm_options(args))


def _ddpm_options(args) -> dict:
    """The DDPM receiver's sampler options given on the command line (``--runs``
    implies the ancestral sampler unless ``--sampler`` says otherwise)."""
    options = {} if args.runs is None else {"sampler": "ddpm", "runs": args.runs}
    for key in ("sampler", "steps", "combine"):
        if getattr(args, key) is not None:
            options[key] = getattr(args, key)
    return options


def _ae_receiver(modulation, args):
    from .autoencoder import AutoencoderReceiver
    from .paths import default_model

    path = args.ae_model or default_model("ae", modulation)
    return AutoencoderReceiver(str(path))


def cmd_ber(args) -> int:
    from .ber import run_sweep
    from .metrics import theory_ber

    if args.link is not None:
        return _cmd_ber_link(args)
    if args.set:
        raise CliError("--set: changes a --link preset's values; give --link NAME")
    for option in ("pilots", "constellation_plot"):
        if getattr(args, option) is not None:
            raise CliError(f"--{option.replace('_', '-')}: only with --link NAME")
    args.modulation = args.modulation or "qpsk"
    args.snr = args.snr or "-25:-5:5"
    args.receivers = args.receivers or "nearest,map"
    if args.modulation not in MODULATIONS:
        raise CliError(
            f"--modulation: unknown {args.modulation!r}, expected one of "
            f"{', '.join(MODULATIONS)}"
        )
    if args.symbols < 1:
        raise CliError(f"--symbols: must be >= 1, got {args.symbols}")
    snrs = parse_range(args.snr)
    link = _link_from_args(args)
    names = [n.strip() for n in args.receivers.split(",") if n.strip()]
    try:
        receivers = _make_receivers(names, args.modulation, args)
    except (ValueError, FileNotFoundError) as err:
        raise CliError(str(err)) from None
    log.info("link: %s", link)
    records = run_sweep(
        link, snrs, receivers, args.symbols, seed=args.seed, progress=not args.quiet
    )

    extra = link.kappa_t**2 + link.kappa_r**2
    # The closed form is for Gaussian noise only (the distortion counted as noise).
    closed_form = args.modulation in ("qpsk", "16qam") and link.noise == "awgn"
    theory = (
        {s: float(theory_ber(args.modulation, s, extra)) for s in snrs}
        if closed_form
        else {}
    )
    _print_ber_table(records, names, snrs, theory, link)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump([r.as_json() for r in records], fh, indent=1)
        log.info("wrote %s", args.json)
    if args.plot:
        _plot_ber(records, names, theory, args, link)
    return 0


def _preset_overrides(items) -> dict:
    """``--set KEY=VALUE`` items as a dict (values read as YAML scalars)."""
    import yaml

    out = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise CliError(f"--set: expected KEY=VALUE, got {item!r}")
        try:
            out[key.strip()] = yaml.safe_load(value)
        except yaml.YAMLError:
            raise CliError(f"--set {key.strip()}: cannot read {value!r}") from None
    return out


def _preset_error(err: ValueError) -> CliError:
    """A preset's ValueError as a CLI error naming the option (--link or --set)."""
    text = str(err)
    key = text.split(":", 1)[0]
    if key == "link":
        return CliError(f"--{text}")
    return CliError(f"--set {text}")


def _cmd_ber_link(args) -> int:
    from . import link_ber
    from .presets import describe, preset

    for option in ("kappa_t", "kappa_r", "quant_bits", "adc_bits"):
        if getattr(args, option) is not None:
            raise CliError(
                f"--{option.replace('_', '-')}: not with --link; change a preset "
                f"value with --set {option}=VALUE"
            )
    if args.fading:
        raise CliError("--fading: the structured links have no fading model")
    if args.symbols < 1:
        raise CliError(f"--symbols: must be >= 1, got {args.symbols}")
    overrides = _preset_overrides(args.set)
    if args.modulation is not None:
        overrides["modulation"] = args.modulation
    if args.noise != "awgn":
        overrides["noise"] = args.noise
    try:
        preset(args.link, 0.0, **overrides)
        info = describe(args.link, **overrides)
    except ValueError as err:
        raise _preset_error(err) from None
    link_name = info["link"]
    snrs = parse_range(args.snr or link_ber.DEFAULT_SNR)
    names = [
        n.strip()
        for n in (args.receivers or ",".join(link_ber.LINK_RECEIVERS)).split(",")
        if n.strip()
    ]
    pilots = 4096 if args.pilots is None else args.pilots
    try:
        receivers = link_ber.make_receivers(
            names,
            link_name,
            overrides,
            ddpm_model=args.ddpm_model,
            ae_model=args.ae_model,
            ddpm_options=_ddpm_options(args),
            pilots=pilots,
            seed=args.seed,
        )
    except (ValueError, FileNotFoundError) as err:
        text = str(err)
        if text.startswith(("pilots:", "receivers:")):
            text = "--" + text
        raise CliError(text) from None
    log.info("link %s: %s", link_name, info["summary"])
    if overrides:
        log.info("changed preset values: %s", overrides)
    records = link_ber.sweep(
        link_name, snrs, receivers, args.symbols, seed=args.seed, overrides=overrides
    )
    changed = f" with {overrides}" if overrides else ""
    title = f"link {link_name}{changed}, {info['params']['modulation']}"
    print(link_ber.format_tables(records, names, snrs, title))
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(link_ber.records_json(records, link_name, overrides), fh, indent=1)
        log.info("wrote %s", args.json)
    if args.plot:
        link_ber.plot_ber(records, names, args.plot, title)
    if args.constellation_plot:
        ddpm = [r for r in receivers if r.name == "ddpm"]
        if not ddpm:
            raise CliError("--constellation-plot: needs the ddpm receiver")
        snr = max(snrs) if args.constellation_snr is None else args.constellation_snr
        link_ber.plot_constellation(
            link_name,
            overrides,
            ddpm[0],
            snr,
            args.constellation_plot,
            seed=args.seed,
        )
    return 0


def _print_ber_table(records, names, snrs, theory, link):
    by = {(r.snr_db, r.method): r for r in records}
    head = f"{'SNR dB':>7} " + " ".join(f"{n:>19}" for n in names)
    if theory:
        head += f" {'theory*':>10}"
    print(
        f"BER (+- 1 standard error), noise {link.noise}, kappa_t {link.kappa_t}, "
        f"kappa_r {link.kappa_r}, DAC {link.quant_bits} bit, ADC {link.adc_bits} bit"
    )
    print(head)
    for s in snrs:
        row = f"{s:>7.2f} "
        for n in names:
            r = by[(s, n)]
            row += f" {r.ber:9.3e}+-{r.stderr:7.1e}"
        if theory:
            row += f" {theory[s]:10.3e}"
        print(row)
    if theory:
        print(
            "* theory: Gaussian channel with the distortion counted as noise, "
            "quantizers ignored (exact for an ideal AWGN link)"
        )


def _plot_ber(records, names, theory, args, link):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    # Receivers often tie (MAP is nearest neighbour on symmetric links): distinct
    # markers and sizes keep every curve visible on top of the others.
    markers = "osv^Dx"
    for k, n in enumerate(names):
        pts = [r for r in records if r.method == n]
        ax.semilogy(
            [r.snr_db for r in pts],
            [max(r.ber, 1e-7) for r in pts],
            marker=markers[k % len(markers)],
            markersize=9 - 1.5 * k,
            linewidth=2.5 if n == "map" else 1.2,
            color="black" if n == "map" else None,
            alpha=0.6 if n == "map" else 1.0,
            label=n,
        )
    if theory:
        xs = sorted(theory)
        ax.semilogy(xs, [theory[x] for x in xs], "k--", label="theory (Gaussian)")
    ax.set_xlabel("SNR Es/N0 (dB)")
    ax.set_ylabel("BER")
    ax.set_title(
        f"{args.modulation}, {link.noise}, kappa {link.kappa_t}/{link.kappa_r},"
        f" DAC/ADC {link.quant_bits}/{link.adc_bits} bit"
    )
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(args.plot, dpi=120)
    log.info("wrote %s", args.plot)


def _add_ber(sub):
    p = sub.add_parser(
        "ber",
        help="BER vs SNR for several receivers on the same link",
        description="BER vs SNR (Es/N0 per complex symbol) of each "
        "receiver on the same symbols and channel draws. Without link "
        "options the link is the default impaired link of the shipped "
        "models: kappa_t = kappa_r = 0.1, 4-bit DAC, 4-bit ADC.",
    )
    p.add_argument(
        "--link",
        default=None,
        help="a named structured link (paper, pluto-like, harsh; see "
        "wigenai.presets) instead of the kappa/DAC/ADC link options",
    )
    p.add_argument(
        "--set",
        action="append",
        metavar="KEY=VALUE",
        help="change one value of the --link preset, e.g. pa_backoff_db=3 "
        "(repeatable; the models keep what they were trained for)",
    )
    p.add_argument(
        "--modulation",
        default=None,
        help="qpsk, 16qam or 64qam (default qpsk, or the preset's)",
    )
    p.add_argument(
        "--receivers",
        default=None,
        help="comma list of nearest, map (symbol MAP), map-bit (bitwise MAP), ddpm, "
        "ae (default nearest,map); with --link: nearest, centroid, map (genie), "
        "ddpm, ae (default all)",
    )
    p.add_argument(
        "--snr",
        default=None,
        help="START:STOP:STEP in dB or a list (default -25:-5:5; with --link 0:30:2)",
    )
    p.add_argument(
        "--pilots",
        type=int,
        default=None,
        help="known symbols the centroid receiver learns from (--link; default 4096)",
    )
    p.add_argument(
        "--constellation-plot",
        default=None,
        help="write a PNG of received samples and DDPM estimates (--link)",
    )
    p.add_argument(
        "--constellation-snr",
        type=float,
        default=None,
        help="Es/N0 of the constellation plot, dB (default: the sweep's highest)",
    )
    p.add_argument("--noise", default="awgn", choices=NOISE_LAWS)
    p.add_argument("--kappa-t", dest="kappa_t", type=float, default=None)
    p.add_argument("--kappa-r", dest="kappa_r", type=float, default=None)
    p.add_argument(
        "--quant-bits",
        dest="quant_bits",
        type=int,
        default=None,
        help="transmit DAC bits per I and Q, 0 = off",
    )
    p.add_argument(
        "--adc-bits",
        dest="adc_bits",
        type=int,
        default=None,
        help="receive ADC bits per I and Q, 0 = off",
    )
    p.add_argument(
        "--adc-loading",
        type=float,
        default=3.0,
        help="ADC full scale over the rms of one real dimension",
    )
    p.add_argument("--fading", action="store_true", help="flat Rayleigh, known CSI")
    p.add_argument("--symbols", type=int, default=100_000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--runs",
        type=int,
        default=None,
        help="ancestral runs per symbol (implies --sampler ddpm)",
    )
    p.add_argument(
        "--sampler",
        default=None,
        choices=("ddim", "ddpm"),
        help="DDPM receiver's sampler (default ddim)",
    )
    p.add_argument(
        "--steps",
        type=int,
        default=None,
        help="DDPM receiver's DDIM steps per symbol (default 2)",
    )
    p.add_argument(
        "--combine",
        default=None,
        choices=("mean", "vote"),
        help="how ancestral runs combine: decide on the mean x0 (default) or vote",
    )
    p.add_argument("--ddpm-model", default=None, help="ONNX denoiser (default shipped)")
    p.add_argument("--ae-model", default=None, help="ONNX autoencoder (default shipped)")
    p.add_argument("--json", default=None, help="write the records to this JSON file")
    p.add_argument("--plot", default=None, help="write a PNG plot")
    p.set_defaults(func=cmd_ber)


TRAINERS = {
    "denoiser": ("train_denoiser", "the receiver's DDPM denoiser (case study 1)"),
    "autoencoder": ("autoencoder", "the autoencoder benchmark of Aoudia and Hoydis"),
    "shaper": ("train_shaper", "the transmitter's DDPM shaper (case study 2)"),
    "stark": ("stark", "the shaping benchmark of Stark, Aoudia and Hoydis"),
}


def _add_train(sub):
    import importlib

    p = sub.add_parser("train", help="train a model and export it")
    tsub = p.add_subparsers(dest="what", required=True)
    for what, (module, text) in TRAINERS.items():
        tp = tsub.add_parser(what, help=f"train {text}")
        tp.set_defaults(module=module)
        importlib.import_module(f"wigenai.{module}").add_arguments(tp)
    p.set_defaults(func=cmd_train)


def cmd_train(args) -> int:
    import importlib

    module = importlib.import_module(f"wigenai.{args.module}")
    return module.main(args) or 0


def cmd_mi(args) -> int:
    from . import mi
    from .constellation import check_square_order
    from .paths import models_dir
    from .shaping import SHAPERS

    try:
        order = check_square_order(args.order)
    except ValueError as err:
        raise CliError(f"--order: {str(err).split(': ', 1)[1]}") from None
    if args.symbols < 2:
        raise CliError(f"--symbols: must be >= 2, got {args.symbols}")
    snrs = parse_range(args.snr)
    methods = [m.strip() for m in args.shapers.split(",") if m.strip()]
    for m in methods:
        if m not in SHAPERS:
            raise CliError(
                f"--shapers: unknown shaper {m!r}, expected {', '.join(SHAPERS)}"
            )
    name = Constellation(order).name
    shaper_model = args.shaper_model or str(models_dir() / f"shaper-{name}.onnx")
    stark_model = args.stark_model or str(models_dir() / f"stark-{name}.json")
    ddpm_options = {
        "sampler": args.ddpm_sampler,
        "steps": args.ddpm_steps,
        "symbols": args.ddpm_symbols,
        "seed": args.seed,
    }
    try:
        sources = mi.PmfSources(
            order,
            args.noise,
            shaper_model if "ddpm" in methods else None,
            stark_model if "stark" in methods else None,
            ddpm_options,
        )
        records = mi.run_sweep(
            sources, methods, snrs, args.symbols, seed=args.seed, progress=not args.quiet
        )
    except (ValueError, FileNotFoundError) as err:
        raise CliError(str(err)) from None
    _print_mi_table(records, methods, snrs)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump([r.as_json() for r in records], fh, indent=1)
        log.info("wrote %s", args.json)
    if args.plot:
        mi.plot(records, methods, args.plot)
    return 0


def _print_mi_table(records, methods: list[str], snrs: list[float]) -> None:
    """MI per SNR and method (+- the 95 % half-width), capacity first."""
    by = {(r.snr_db, r.method): r for r in records}
    noise, order = records[0].noise, records[0].order
    print(
        f"Mutual information, bits per symbol, {order}-QAM, {noise} noise "
        "(Monte Carlo, true law, +- 95 % interval)"
    )
    print(f"{'SNR dB':>7} {'log2(1+SNR)':>12} " + " ".join(f"{m:>16}" for m in methods))
    for s in snrs:
        row = f"{s:>7.2f} {by[(s, 'capacity')].mi_bits:12.4f} "
        row += " ".join(
            f"{by[(s, m)].mi_bits:8.4f}+-{by[(s, m)].ci_bits:6.4f}" for m in methods
        )
        print(row)
    if noise != "awgn":
        print("Rate of a receiver that assumes Gaussian noise (mismatched), bits:")
        for s in snrs:
            row = f"{s:>7.2f} {'':12} "
            row += " ".join(f"{by[(s, m)].mismatched_bits:16.4f}" for m in methods)
            print(row)
        print(
            "Gaussian noise is the worst noise of a given power: under Laplacian noise "
            "log2(1+SNR) is a lower bound on capacity, not the capacity."
        )


def _add_mi(sub):
    p = sub.add_parser(
        "mi",
        help="mutual information of shaped constellations vs SNR",
        description="Mutual information (bits per symbol, Monte Carlo with the true "
        "noise law) of square QAM under each shaper's pmf, at unit average energy, "
        "next to log2(1+SNR). SNR is Es/N0 per complex symbol.",
    )
    p.add_argument("--order", type=int, default=16, help="16 or 64 (square QAM)")
    p.add_argument(
        "--shapers",
        default="uniform,ddpm,mb,ba,stark",
        help="comma list of uniform, ddpm, mb (Maxwell-Boltzmann), ba (Blahut-Arimoto), "
        "stark (the benchmark)",
    )
    p.add_argument("--snr", default="-10:20:2.5", help="START:STOP:STEP in dB or a list")
    p.add_argument("--noise", default="awgn", choices=NOISE_LAWS)
    p.add_argument("--symbols", type=int, default=200_000, help="Monte Carlo samples")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--shaper-model", default=None, help="ONNX shaper (default shipped)")
    p.add_argument("--stark-model", default=None, help="benchmark JSON (default shipped)")
    p.add_argument(
        "--ddpm-sampler",
        default="ddpm",
        choices=("ddpm", "ddim"),
        help="reverse chain of the DDPM shaper (default: ancestral, the paper's)",
    )
    p.add_argument("--ddpm-steps", type=int, default=2, help="DDIM calls (ddim only)")
    p.add_argument(
        "--ddpm-symbols",
        type=int,
        default=20000,
        help="generated symbols per DDPM pmf estimate",
    )
    p.add_argument("--json", default=None, help="write the records to this JSON file")
    p.add_argument("--plot", default=None, help="write a PNG plot")
    p.set_defaults(func=cmd_mi)


def cmd_bench(args) -> int:
    from . import bench

    try:
        import gnuradio.wigenai  # noqa: F401
    except ImportError as err:
        raise CliError(f"needs GNU Radio and gr-wigenai's blocks ({err})") from None
    if args.soak:
        if args.soak < 5:
            raise CliError(f"--soak: at least 5 seconds, got {args.soak}")
        doc = bench.soak(args.soak, args.modulation, args.snr_db, args.threads)
        print(
            f"soak {doc['seconds']:.0f} s: {doc['samples_per_s']:.0f} symbols/s; "
            f"resident {doc['rss_mb_at_60s']:.1f} MB at 60 s, "
            f"{doc['rss_mb_at_end']:.1f} MB at the end "
            f"({100 * doc['growth']:+.2f} %), max {doc['rss_mb_max']:.1f} MB"
        )
    else:
        steps = [int(v) for v in parse_range(args.steps, "steps")]
        batches = [int(v) for v in parse_range(args.batches, "batches")]
        impls = [v.strip() for v in args.impls.split(",") if v.strip()]
        for impl in impls:
            if impl not in ("cpp", "python", "per_item"):
                raise CliError(
                    f"--impls: unknown {impl!r}, expected cpp, python, per_item"
                )
        if args.seconds < 2:
            raise CliError(f"--seconds: at least 2, got {args.seconds}")
        if args.rounds < 1:
            raise CliError(f"--rounds: at least 1, got {args.rounds}")
        try:
            doc = bench.run_bench(
                args.modulation,
                args.snr_db,
                steps,
                batches,
                impls,
                args.seconds,
                threads=args.threads,
                progress=not args.quiet,
            )
        except ValueError as err:
            raise CliError(str(err)) from None
        _print_bench(doc)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(doc, fh, indent=1)
        log.info("wrote %s", args.json)
    return 0


def _print_bench(doc) -> None:
    print(
        f"Denoiser throughput in a running flowgraph, {doc['modulation']} at "
        f"{doc['snr_db']} dB, {doc['threads']} ORT threads, {doc['cpu_count']} CPUs "
        f"({doc['flops_per_eval'] / 1e3:.1f} kFLOP per network call)"
    )
    print(
        f"{'impl':>9} {'steps':>5} {'batch':>6} {'calls':>5} {'symbols/s':>11} "
        f"{'GFLOP/s':>8} {'matmul':>7}  rounds"
    )
    for r in doc["records"]:
        mark = " *" if r["default"] else ""
        print(
            f"{r['impl']:>9} {r['steps']:5d} {r['batch']:6d} {r['calls_per_symbol']:5d} "
            f"{r['samples_per_s']:11.0f} {r['gflops']:8.2f} {r['matmul_gflops']:7.1f}  "
            + " ".join(f"{v / 1e3:.0f}k" for v in r["samples_per_s_rounds"])
            + mark
        )
    print(
        "symbols/s: median of the interleaved rounds; * the block's default settings; "
        "matmul: numpy float32 on the same shapes"
    )
    for key, value in doc["ratios"].items():
        print(f"{key}: {value}")
    print(f"CUDA: {doc['cuda']}")


def _add_bench(sub):
    p = sub.add_parser(
        "bench",
        help="throughput of the denoiser blocks in a running flowgraph",
        description="Symbols per second of the C++ block, the Python block and a "
        "per-item baseline, each in a running flowgraph, side by side in one run; "
        "--soak S samples the resident memory of the default C++ case instead.",
    )
    p.add_argument("--modulation", default="qpsk", help="qpsk, 16qam or 64qam")
    p.add_argument("--snr-db", type=float, default=-5.0, help="link Es/N0, dB")
    p.add_argument("--steps", default="1,2,5,10,100", help="DDIM steps (100 = all)")
    p.add_argument("--batches", default="1024,8192", help="batch sizes")
    p.add_argument("--rounds", type=int, default=3, help="interleaved rounds (median)")
    p.add_argument("--impls", default="cpp,python,per_item")
    p.add_argument("--seconds", type=float, default=2.0, help="measured time per case")
    p.add_argument("--threads", type=int, default=2, help="ONNX Runtime threads")
    p.add_argument("--soak", type=float, default=0.0, help="soak for this many seconds")
    p.add_argument("--json", default=None, help="write the results to this JSON file")
    p.set_defaults(func=cmd_bench)


# ------------------------------------------------------------------------------ replay

REPLAY_LABEL = "wigenai_burst"


def cmd_replay(args) -> int:
    from tqdm import tqdm

    from .burst import BurstReceiver
    from .sigmf_io import RecordingError, open_recording

    _check_replay_options(args)
    try:
        rec = open_recording(args.file, args.rate, args.datatype, args.force_rate)
    except RecordingError as err:
        raise CliError(str(err)) from None
    if rec.meta_path is None and args.rate is None:
        raise CliError(f"--rate: {rec.data_path} is a raw file; give its sample rate")
    if args.annotate and rec.meta_path is None:
        raise CliError(
            f"--annotate: {rec.data_path} is a raw file; only a .sigmf-meta can take "
            "annotations"
        )
    if rec.sample_rate is None:
        log.info("%s: no sample rate; times and CFO in Hz are left out", rec.name)
    fmt, frame = _replay_frame(rec, args)
    paths = ["none", "ddpm"] if args.compare else [args.denoiser]
    denoise = _replay_denoiser(args) if "ddpm" in paths else None

    rx = BurstReceiver(fmt, threshold=args.threshold, denoise=denoise)
    results = []
    bar = tqdm(
        total=rec.n_samples,
        desc="replay",
        unit="sample",
        unit_scale=True,
        disable=args.quiet,
        leave=False,
    )
    with bar:
        for chunk in rec.chunks(args.chunk):
            results += rx.push(chunk)
            bar.update(chunk.size)
        results += rx.flush()

    records = [_burst_record(r, paths, frame, rec.sample_rate) for r in results]
    _check_modulation(records, frame, rec.name)
    totals = _replay_totals(records, paths, rx.lost)
    _print_replay(rec, fmt, frame, paths, records, totals)
    if args.json:
        doc = {
            "file": rec.name,
            "data_file": str(rec.data_path),
            "datatype": rec.datatype,
            "n_samples": rec.n_samples,
            "sample_rate": rec.sample_rate,
            "center_freq": rec.center_freq,
            "frame": {"sps": fmt.sps, "rolloff": fmt.rolloff, **frame},
            "threshold": args.threshold,
            "denoiser": paths[-1],
            "paths": paths,
            "bursts": records,
            "totals": totals,
        }
        with open(args.json, "w") as fh:
            json.dump(doc, fh, indent=1)
        log.info("wrote %s", args.json)
    if args.plot:
        _plot_replay(results, paths, rec.name, args.plot)
    if args.annotate:
        _annotate_replay(rec, results, records, paths)
    return 0


def _check_replay_options(args) -> None:
    checks = [
        ("--chunk", args.chunk, args.chunk >= 1, "must be >= 1"),
        ("--steps", args.steps, args.steps >= 1, "must be >= 1"),
        ("--threshold", args.threshold, 0 < args.threshold < 1, "must be in (0, 1)"),
    ]
    if args.rate is not None:
        ok = math.isfinite(args.rate) and args.rate > 0
        checks.append(("--rate", args.rate, ok, "must be a finite rate > 0 Hz"))
    if args.payload_seed is not None:
        checks.append(
            ("--payload-seed", args.payload_seed, args.payload_seed >= 0, "must be >= 0")
        )
    if args.payload_len is not None:
        ok = 0 <= args.payload_len <= 65535
        checks.append(("--payload-len", args.payload_len, ok, "must be in 0..65535"))
    for name, value, ok, what in checks:
        if not ok:
            raise CliError(f"{name}: {what}, got {value}")
    if args.ddpm_model is not None and not os.path.isfile(args.ddpm_model):
        raise CliError(f"--ddpm-model: {args.ddpm_model}: no such file")


def _replay_frame(rec, args):
    """The frame format and test-traffic settings: options, else the recording's
    wigenai: keys, else the library defaults (logged as assumed)."""
    from .burst import FrameFormat
    from .sigmf_io import reconcile_frame

    given = {
        "sps": args.sps,
        "rolloff": args.rolloff,
        "pilot_spacing": args.pilot_spacing,
        "payload_seed": args.payload_seed,
        "payload_len": args.payload_len,
    }
    frame = reconcile_frame(rec.frame, given, rec.name)
    defaults = {
        "sps": FrameFormat.sps,
        "rolloff": FrameFormat.rolloff,
        "pilot_spacing": FrameFormat.pilot_spacing,
    }
    assumed = {k: v for k, v in defaults.items() if k not in frame}
    if assumed:
        log.info(
            "%s: no %s; assuming %s",
            rec.name,
            ", ".join(f"wigenai:{k}" for k in assumed),
            ", ".join(f"{k} {v}" for k, v in assumed.items()),
        )
    settings = {**defaults, **frame}
    try:
        fmt = FrameFormat(
            sps=settings["sps"],
            rolloff=settings["rolloff"],
            pilot_spacing=settings["pilot_spacing"],
        )
    except ValueError as err:
        key, why = str(err).split(":", 1)
        source = (
            f"--{key.replace('_', '-')}"
            if given.get(key) is not None
            else f"{rec.name}: wigenai:{key}"
        )
        raise CliError(f"{source}: {why.strip()}") from None
    seed, length = frame.get("payload_seed"), frame.get("payload_len")
    if seed is not None and seed < 0:
        raise CliError(f"{rec.name}: wigenai:payload_seed {seed} must be >= 0")
    if length is not None and not 0 <= length <= 65535:
        raise CliError(f"{rec.name}: wigenai:payload_len {length} is not in 0..65535")
    return fmt, frame


def _replay_denoiser(args):
    """The library's DDPM hook; a model that cannot serve a burst's modulation is a
    user error (named), found when the first burst of that modulation arrives."""
    from .burst import burst_model, ddpm_denoise

    inner = ddpm_denoise(args.ddpm_model, steps=args.steps)
    ready: set[str] = set()

    def denoise(symbols, modulation, snr_db):
        if modulation in ready:
            return inner(symbols, modulation, snr_db)
        path = args.ddpm_model or str(burst_model(modulation))
        if not os.path.isfile(path):
            raise CliError(
                f"--ddpm-model: no shipped denoiser for {modulation} ({path}); give one"
            )
        try:
            out = inner(symbols, modulation, snr_db)
        except (ValueError, OSError) as err:
            raise CliError(f"--ddpm-model: {err}") from None
        ready.add(modulation)
        return out

    return denoise


def _burst_record(result, paths, frame, rate) -> dict:
    """One burst's JSON record: what the receiver measured, then per path the CRC and
    the bit errors against the known payload (None when they cannot be counted)."""
    from .burst import bit_errors, decode_payload

    header = result.header
    record = {
        "start": int(result.start),
        "time_s": None if rate is None else result.start / rate,
        "seq": result.seq,
        "modulation": result.modulation,
        "pmf_id": result.pmf_id,
        "length_bytes": header.length if header else None,
        "snr_db": _finite_or_none(result.snr_db),
        "cfo_per_symbol": float(result.cfo_per_symbol),
        "cfo_hz": None if rate is None else float(result.cfo_per_sample * rate),
        "metric": float(result.metric),
        "complete": bool(result.complete),
        "header_ok": bool(result.header_ok),
        "paths": {},
    }
    decoded = result.header_ok and result.complete
    sent = _sent_payload(result, frame) if decoded else None
    # The receiver decided on the last path; with --compare the first one, "none",
    # is decided here from the same equalized symbols.
    for path in paths:
        payload, crc_ok = result.payload, result.crc_ok
        if decoded and path == "none" and paths[-1] != "none":
            _, payload, crc_ok = decode_payload(result.symbols, header)
        errors = None if sent is None else bit_errors(payload, sent)
        record["paths"][path] = {
            "crc_ok": bool(crc_ok),
            "bit_errors": errors,
            "bits": None if errors is None else 8 * len(sent),
        }
    return record


def _sent_payload(result, frame):
    from .burst import known_payload

    seed = frame.get("payload_seed")
    if seed is None:
        return None
    length = frame.get("payload_len", result.header.length)
    if length != result.header.length:
        log.warning(
            "burst seq %d at sample %d: the header says %d payload bytes, the payload "
            "length is %d; its bits are not counted",
            result.seq,
            result.start,
            result.header.length,
            length,
        )
        return None
    return known_payload(seed, result.seq, length)


def _finite_or_none(value: float):
    return float(value) if math.isfinite(value) else None


def _check_modulation(records, frame, name) -> None:
    expected = frame.get("modulation")
    if expected is None:
        return
    other = sorted({r["modulation"] for r in records if r["modulation"]} - {expected})
    if other:
        log.warning(
            "%s: recorded with wigenai:modulation %s, but bursts decoded as %s (the "
            "headers are followed)",
            name,
            expected,
            ", ".join(other),
        )


def _replay_totals(records, paths, lost) -> dict:
    from .metrics import error_stderr

    seqs = {r["seq"] for r in records if r["header_ok"]}
    totals = {
        "bursts": len(records),
        "headers_ok": sum(r["header_ok"] for r in records),
        "lost": int(lost),
        # Sequence numbers missing between the first and the last one seen: bursts not
        # detected at all (a count that ignores a wrap past 65535).
        "missing": (max(seqs) - min(seqs) + 1 - len(seqs)) if seqs else 0,
        "paths": {},
    }
    for path in paths:
        counted = [r["paths"][path] for r in records if r["paths"][path]["bits"]]
        bits = sum(p["bits"] for p in counted)
        errors = sum(p["bit_errors"] for p in counted)
        ber = errors / bits if bits else None
        totals["paths"][path] = {
            "crc_ok": sum(r["paths"][path]["crc_ok"] for r in records),
            "bursts_counted": len(counted),
            "bits": bits,
            "bit_errors": errors,
            "ber": ber,
            "ber_stderr": None if ber is None else error_stderr(ber, bits),
        }
    return totals


def _print_replay(rec, fmt, frame, paths, records, totals) -> None:
    rate = "unknown rate" if rec.sample_rate is None else f"{rec.sample_rate:.9g} Hz"
    print(
        f"replay {rec.name}: {rec.n_samples} samples ({rec.datatype}) at {rate}; "
        f"sps {fmt.sps}, rolloff {fmt.rolloff}, pilot spacing {fmt.pilot_spacing}; "
        f"payload seed {frame.get('payload_seed', 'unknown')}"
    )
    head = (
        f"{'start':>10} {'seq':>5} {'mod':>5} {'SNR dB':>6} {'CFO/sym':>8} {'header':>6}"
    )
    for path in paths:
        head += f" {'CRC ' + path:>8} {'errors':>6}"
    print(head)
    for r in records:
        line = (
            f"{r['start']:>10} {_cell(r['seq']):>5} {_cell(r['modulation']):>5} "
            f"{_cell(r['snr_db'], '.1f'):>6} {r['cfo_per_symbol']:>8.4f} "
            f"{'yes' if r['header_ok'] else 'no':>6}"
        )
        for path in paths:
            p = r["paths"][path]
            crc = "lost" if not r["complete"] else "yes" if p["crc_ok"] else "no"
            line += f" {crc:>8} {_cell(p['bit_errors']):>6}"
        print(line)
    print(
        f"bursts found {totals['bursts']}, headers ok {totals['headers_ok']}, "
        f"lost {totals['lost']} (cut off at the end), missing {totals['missing']} "
        "(gaps in the sequence numbers)"
    )
    for path in paths:
        t = totals["paths"][path]
        line = f"{path:>5}: CRC ok {t['crc_ok']} of {totals['bursts']}"
        if t["ber"] is None:
            line += (
                "; no BER (no payload seed)" if frame.get("payload_seed") is None else ""
            )
        elif t["bit_errors"]:
            line += (
                f"; bits {t['bits']}, bit errors {t['bit_errors']}, "
                f"BER {t['ber']:.3e} +- {t['ber_stderr']:.1e}"
            )
        else:
            line += (
                f"; bits {t['bits']}, bit errors 0, BER 0 "
                f"(< {3.0 / t['bits']:.1e} at 95 %)"
            )
        print(line)


def _cell(value, spec: str = "") -> str:
    return "-" if value is None else format(value, spec)


def _plot_replay(results, paths, name, out) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    decoded = [r for r in results if r.header_ok and r.complete]
    panels = [("equalized", lambda r: r.symbols)]
    if "ddpm" in paths:
        panels.append(("after the DDPM denoiser", lambda r: r.denoised))
    fig, axes = plt.subplots(
        1,
        len(panels),
        figsize=(4.8 * len(panels), 4.8),
        squeeze=False,
        sharex=True,
        sharey=True,
    )
    rng = np.random.default_rng(0)
    for ax, (title, pick) in zip(axes[0], panels, strict=True):
        points = np.concatenate([pick(r) for r in decoded]) if decoded else np.zeros(0)
        if points.size > 20_000:  # a readable scatter, and a fast one
            points = rng.choice(points, 20_000, replace=False)
        ax.plot(points.real, points.imag, ".", markersize=1.5, alpha=0.4)
        for modulation in sorted({r.modulation for r in decoded}):
            ref = Constellation.named(modulation).points
            ax.plot(ref.real, ref.imag, "k+", markersize=8, label=f"{modulation} points")
        ax.set_title(f"{title} ({len(decoded)} bursts)")
        ax.set_aspect("equal")
        ax.grid(True, alpha=0.3)
        ax.set_xlabel("I")
        ax.set_ylabel("Q")
        if decoded:
            ax.legend(loc="upper right", fontsize=7)
    fig.suptitle(name, fontsize=9)
    fig.tight_layout()
    fig.savefig(out, dpi=120)
    plt.close(fig)
    log.info("wrote %s", out)


def _annotate_replay(rec, results, records, paths) -> None:
    from .sigmf_io import add_annotations

    annotations = []
    for result, record in zip(results, records, strict=True):
        ann = result.to_annotation(REPLAY_LABEL)
        ann["denoiser"] = paths[-1]
        ann["bit_errors"] = record["paths"][paths[-1]]["bit_errors"]
        if len(paths) > 1:
            ann["crc_ok_none"] = record["paths"]["none"]["crc_ok"]
            ann["bit_errors_none"] = record["paths"]["none"]["bit_errors"]
        annotations.append(ann)
    try:
        count = add_annotations(rec.meta_path, annotations)
    except (ValueError, OSError) as err:
        raise CliError(f"--annotate: {err}") from None
    log.info(
        "wrote %d %s annotations to %s (%d in the file)",
        len(annotations),
        REPLAY_LABEL,
        rec.meta_path,
        count,
    )


def _add_replay(sub):
    from .burst import DEFAULT_THRESHOLD
    from .sigmf_io import SUPPORTED_DATATYPES

    p = sub.add_parser(
        "replay",
        help="run the burst receiver offline on a recording",
        description="Find, synchronize and decode every burst of a recording with the "
        "library receiver (the one the burst_sync block runs), print one line per "
        "burst and the totals; count bit errors against the known test payloads when "
        "the payload seed is known. Frame options default to the recording's "
        "wigenai: keys, else to the library defaults.",
    )
    p.add_argument(
        "file", help="FILE.sigmf-meta, or a raw FILE.cf32 / FILE.ci16 with --rate"
    )
    p.add_argument("--rate", type=float, default=None, help="sample rate, Hz")
    p.add_argument(
        "--force-rate",
        action="store_true",
        help="use --rate even where the recording's core:sample_rate differs",
    )
    p.add_argument(
        "--datatype",
        default=None,
        choices=SUPPORTED_DATATYPES,
        help="datatype of a raw file whose extension does not say it",
    )
    p.add_argument("--sps", type=int, default=None, help="samples per symbol")
    p.add_argument("--rolloff", type=float, default=None, help="RRC excess bandwidth")
    p.add_argument(
        "--pilot-spacing",
        dest="pilot_spacing",
        type=int,
        default=None,
        help="data symbols between pilots (0: none)",
    )
    p.add_argument(
        "--threshold",
        type=float,
        default=DEFAULT_THRESHOLD,
        help="preamble detection threshold in (0, 1)",
    )
    p.add_argument(
        "--denoiser",
        default="none",
        choices=("none", "ddpm"),
        help="decide on the equalized symbols, or on the DDPM receiver's estimate",
    )
    p.add_argument(
        "--compare",
        action="store_true",
        help="both paths on the same detections (implies the ddpm path)",
    )
    p.add_argument("--ddpm-model", default=None, help="ONNX denoiser (default shipped)")
    p.add_argument("--steps", type=int, default=2, help="DDIM network calls per symbol")
    p.add_argument(
        "--payload-seed",
        dest="payload_seed",
        type=int,
        default=None,
        help="seed of the known test payloads (counts bit errors)",
    )
    p.add_argument(
        "--payload-len",
        dest="payload_len",
        type=int,
        default=None,
        help="payload bytes of the test bursts (default: the header's)",
    )
    p.add_argument(
        "--chunk", type=int, default=1 << 16, help="samples read and pushed at a time"
    )
    p.add_argument("--json", default=None, help="write the records to this JSON file")
    p.add_argument("--plot", default=None, help="write a constellation PNG")
    p.add_argument(
        "--annotate",
        action="store_true",
        help=f"write the results into the .sigmf-meta as '{REPLAY_LABEL}' annotations",
    )
    p.set_defaults(func=cmd_replay)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="wigenai", description="Diffusion models in software-defined radio chains."
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True)
    _add_ber(sub)
    _add_mi(sub)
    _add_train(sub)
    _add_bench(sub)
    _add_replay(sub)
    return parser


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(levelname)s %(name)s: %(message)s",
    )
    np.seterr(all="ignore")
    try:
        return args.func(args)
    except CliError as err:
        print(f"wigenai {args.command}: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
