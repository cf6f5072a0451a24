"""``wigenai bench``: in-flowgraph throughput of the DDPM denoiser blocks, side by side.

Each case runs a real GNU Radio top block, ``vector_source_c`` (repeating received
samples of the model's training link) -> denoiser -> ``null_sink``, and counts the
items the denoiser wrote between two instants at least ``seconds`` apart, after a
warm-up. Implementations:

``cpp``
    ``gnuradio.wigenai.ddpm_denoiser_cc`` (ONNX Runtime C++ API).
``python``
    ``gnuradio.wigenai.ddpm_denoiser`` (ONNX Runtime Python API, batched).
``per_item``
    a Python block that calls the same sampler once per item, the way a naive block
    does: the baseline of the speed-ups.

Every case of one run shares the machine's state, so the ratios are what to read;
absolute rates move with the load of a shared machine. The achieved network rate is
given in GFLOP/s (the multiply-adds of the network's matrix products times the network
evaluations per second) next to numpy's float32 matrix product on the same shapes,
measured in the same run. ``--soak S`` runs the default C++ case for S seconds and
samples the process's resident memory every 10 s.

GNU Radio is imported inside the functions: the library itself stays importable
without it.
"""

from __future__ import annotations

import logging
import math
import os
import time

import numpy as np

log = logging.getLogger(__name__)

DEFAULT_STEPS = (1, 2, 5, 10, 100)
DEFAULT_BATCHES = (1024, 8192)


def network_flops(contract) -> float:
    """Floating-point operations of one network evaluation (matrix products only)."""
    hidden = int(contract.network.get("hidden", 128))
    layers = int(contract.network.get("layers", 3))
    width = contract.input_width
    macs = width * hidden + (layers - 1) * hidden * hidden + hidden * 2
    return 2.0 * macs


def matmul_gflops(batch: int, hidden: int = 128, seconds: float = 1.0) -> float:
    """numpy float32 (batch x hidden) @ (hidden x hidden), GFLOP/s, best of a few."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((batch, hidden), dtype=np.float32)
    b = rng.standard_normal((hidden, hidden), dtype=np.float32)
    out = np.empty((batch, hidden), dtype=np.float32)
    np.matmul(a, b, out=out)
    best, deadline = 0.0, time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        start = time.perf_counter()
        for _ in range(10):
            np.matmul(a, b, out=out)
        best = max(
            best, 10 * 2.0 * batch * hidden * hidden / (time.perf_counter() - start)
        )
    return best / 1e9


def resident_mb() -> float:
    """Resident set size of this process, MB (Linux /proc)."""
    with open("/proc/self/statm") as fh:
        pages = int(fh.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 1e6


def _received(modulation: str, snr_db: float, n: int) -> np.ndarray:
    from .channel import ImpairedChannel
    from .constellation import Constellation
    from .model_contract import load_contract
    from .ort_sampler import link_from_contract
    from .paths import default_model

    contract = load_contract(str(default_model("denoiser", modulation)))
    const = Constellation.named(modulation)
    rng = np.random.default_rng(1)
    channel = ImpairedChannel(link_from_contract(contract, snr_db), seed=2)
    return channel(const.points[rng.integers(0, const.order, n)]).astype(np.complex64)


def _per_item_block(modulation: str, snr_db: float, steps: int, threads: int):
    from gnuradio import gr

    from .ort_sampler import OrtDenoiser
    from .paths import default_model

    class per_item_denoiser(gr.sync_block):  # noqa: N801 (GNU Radio block naming)
        """One model call per item: what a naive block does (the baseline)."""

        def __init__(self):
            gr.sync_block.__init__(
                self, "per_item_denoiser", [np.complex64], [np.complex64]
            )
            self.sampler = OrtDenoiser(
                str(default_model("denoiser", modulation)),
                snr_db,
                steps=steps,
                batch_size=1,
                threads=threads,
            )

        def work(self, input_items, output_items):
            # At most 256 items a call, so that the item counter the benchmark reads
            # moves within its window (a call of 4096 items takes about a second).
            n = min(len(input_items[0]), 256)
            for i in range(n):
                output_items[0][i] = self.sampler.denoise(input_items[0][i : i + 1])[0]
            return n

    return per_item_denoiser()


def make_block(
    impl: str,
    modulation: str,
    snr_db: float,
    steps: int,
    batch: int,
    threads: int,
    provider: str = "cpu",
):
    """The denoiser block of ``impl`` (see the module docstring)."""
    from gnuradio import wigenai

    if impl == "cpp":
        return wigenai.ddpm_denoiser_cc(
            modulation,
            "",
            snr_db,
            "ddim",
            steps,
            1,
            "mean",
            batch,
            threads,
            False,
            provider,
        )
    if impl == "python":
        return wigenai.ddpm_denoiser(
            modulation, "", snr_db, "ddim", steps, 1, "mean", batch, threads
        )
    if impl == "per_item":
        return _per_item_block(modulation, snr_db, steps, threads)
    raise ValueError(f"impl: unknown {impl!r}, expected cpp, python or per_item")


def measure(block, samples: np.ndarray, seconds: float, warmup: float) -> float:
    """Items per second through ``source -> block -> null sink`` after a warm-up."""
    from gnuradio import blocks, gr

    tb = gr.top_block()
    source = blocks.vector_source_c(samples.tolist(), True)
    sink = blocks.null_sink(gr.sizeof_gr_complex)
    tb.connect(source, block, sink)
    tb.start()
    try:
        time.sleep(warmup)
        n0, t0 = block.nitems_written(0), time.perf_counter()
        time.sleep(seconds)
        n1, t1 = block.nitems_written(0), time.perf_counter()
    finally:
        tb.stop()
        tb.wait()
    return (n1 - n0) / (t1 - t0)


def run_bench(
    modulation: str = "qpsk",
    snr_db: float = -5.0,
    steps_list=DEFAULT_STEPS,
    batches=DEFAULT_BATCHES,
    impls=("cpp", "python", "per_item"),
    seconds: float = 2.0,
    warmup: float = 1.0,
    threads: int = 2,
    rounds: int = 3,
    progress: bool = True,
) -> dict:
    """All cases of one benchmark run; see the module docstring. Returns the JSON doc.

    Every case is measured once per round, the rounds interleaved (case A, B, C, A, B,
    C, ...), and the median of the rounds is reported with the spread: on a shared
    machine the load changes within seconds, and interleaving gives every case the
    same share of it.
    """
    from tqdm import tqdm

    from .model_contract import load_contract
    from .paths import default_model

    contract = load_contract(str(default_model("denoiser", modulation)))
    flops = network_flops(contract)
    samples = _received(modulation, snr_db, 1 << 16)
    cases = []
    for impl in impls:
        for steps in steps_list:
            # The per-item baseline is measured at the defaults only: at a few thousand
            # items a second the other cases would take minutes and say nothing new.
            for batch in batches if impl != "per_item" else (8192,):
                if impl == "per_item" and steps != 2:
                    continue
                cases.append((impl, steps, batch))
    matmul = {b: matmul_gflops(b) for b in sorted({c[2] for c in cases})}
    rates = {case: [] for case in cases}
    calls = {}
    bar = tqdm(total=rounds * len(cases), desc="bench", unit="case", disable=not progress)
    for _ in range(rounds):
        for case in cases:
            impl, steps, batch = case
            block = make_block(impl, modulation, snr_db, steps, batch, threads)
            calls[case] = _calls(block, impl)
            rates[case].append(measure(block, samples, seconds, warmup))
            del block
            bar.update(1)
    bar.close()
    records = []
    for case in cases:
        impl, steps, batch = case
        rate = float(np.median(rates[case]))
        records.append(
            {
                "impl": impl,
                "steps": steps,
                "batch": batch,
                "samples_per_s": round(rate, 1),
                "samples_per_s_rounds": [round(r, 1) for r in rates[case]],
                "default": steps == 2 and batch == 8192,
                "calls_per_symbol": calls[case],
                "gflops": round(rate * calls[case] * flops / 1e9, 2),
                "matmul_gflops": round(matmul[batch], 1),
            }
        )
    return {
        "modulation": modulation,
        "snr_db": snr_db,
        "threads": threads,
        "seconds": seconds,
        "rounds": rounds,
        "flops_per_eval": flops,
        "cpu_count": os.cpu_count(),
        "cuda": _cuda_status(),
        "records": records,
        "ratios": _ratios(records),
    }


def _calls(block, impl: str) -> int:
    if impl == "cpp":
        return int(block.calls_per_symbol())
    if impl == "python":
        return int(block._denoiser.calls_per_symbol)
    return int(block.sampler.calls_per_symbol)


def _cuda_status() -> dict:
    try:
        from gnuradio import wigenai

        available = bool(wigenai.ddpm_denoiser_cc.cuda_available())
    except (ImportError, AttributeError):
        available = False
    if not available:
        return {
            "available": False,
            "note": "onnxruntime has no CUDAExecutionProvider "
            "here (CPU wheel, or no GPU); the CUDA case was not run",
        }
    return {"available": True}


def _ratios(records: list[dict]) -> dict:
    """Speed-ups of the C++ block at 2 steps (the default batch if measured, else the
    first), over the Python block at the same batch and over the per-item baseline."""
    at_two = [r for r in records if r["steps"] == 2]
    cpp = [r for r in at_two if r["impl"] == "cpp"]
    if not cpp:
        return {}
    cpp = next((r for r in cpp if r["default"]), cpp[0])
    out = {}
    for other in ("python", "per_item"):
        refs = [r for r in at_two if r["impl"] == other]
        same = [r for r in refs if r["batch"] == cpp["batch"]] or refs
        if same and same[0]["samples_per_s"] > 0:
            ratio = cpp["samples_per_s"] / same[0]["samples_per_s"]
            out[f"cpp_over_{other}"] = round(ratio, 2)
    out["cpp_share_of_matmul"] = round(cpp["gflops"] / cpp["matmul_gflops"], 3)
    return out


def soak(
    seconds: float,
    modulation: str = "qpsk",
    snr_db: float = -5.0,
    threads: int = 2,
    interval: float = 10.0,
) -> dict:
    """Run the default C++ case for ``seconds`` and sample the resident memory."""
    from gnuradio import blocks, gr

    samples = _received(modulation, snr_db, 1 << 16)
    block = make_block("cpp", modulation, snr_db, 2, 8192, threads)
    tb = gr.top_block()
    tb.connect(
        blocks.vector_source_c(samples.tolist(), True),
        block,
        blocks.null_sink(gr.sizeof_gr_complex),
    )
    trace = []
    start = time.perf_counter()
    tb.start()
    try:
        while (elapsed := time.perf_counter() - start) < seconds:
            time.sleep(min(interval, max(seconds - elapsed, 0.01)))
            trace.append(
                (
                    round(time.perf_counter() - start, 1),
                    round(resident_mb(), 1),
                    int(block.nitems_written(0)),
                )
            )
    finally:
        tb.stop()
        tb.wait()
    at = lambda t: min(trace, key=lambda r: abs(r[0] - t))[1]  # noqa: E731
    late = at(min(600.0, trace[-1][0]))
    early = at(min(60.0, trace[-1][0]))
    return {
        "seconds": seconds,
        "trace": trace,
        "rss_mb_max": max(r[1] for r in trace),
        "rss_mb_at_60s": early,
        "rss_mb_at_end": late,
        "growth": round(late / early - 1.0, 4) if early else math.nan,
        "samples_per_s": round(trace[-1][2] / trace[-1][0], 1),
    }
