"""Symbols per second of the Python ddpm_denoiser block inside a running flowgraph.

    .venv/bin/python apps/denoiser_throughput.py [--modulation qpsk] [--seconds 3]

A vector source repeats impaired-link samples into the block, a null sink takes its
output; the rate is measured over ``--seconds`` of wall clock after one second of
warm-up, at the block's default settings unless told otherwise. (The full benchmark
with the C++ block is ``wigenai bench``, planned with the C++ inference blocks.)
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

from gnuradio import blocks, gr
from gnuradio import wigenai as gr_wigenai
from wigenai.channel import ImpairedChannel, LinkParams
from wigenai.constellation import Constellation


def measure(modulation: str, seconds: float, snr_db: float, **block_args) -> dict:
    const = Constellation.named(modulation)
    link = LinkParams(snr_db=snr_db, kappa_t=0.1, kappa_r=0.1, quant_bits=4, adc_bits=4)
    rng = np.random.default_rng(0)
    y, _ = ImpairedChannel(link, seed=1).transmit(
        const.map(rng.integers(0, const.order, 1 << 16))
    )
    tb = gr.top_block()
    src = blocks.vector_source_c(y.astype(np.complex64).tolist(), repeat=True)
    den = gr_wigenai.ddpm_denoiser(modulation, snr_db=snr_db, **block_args)
    sink = blocks.null_sink(gr.sizeof_gr_complex)
    tb.connect(src, den, sink)
    tb.start()
    time.sleep(1.0)
    n0, t0 = sink.nitems_read(0), time.perf_counter()
    time.sleep(seconds)
    n1, t1 = sink.nitems_read(0), time.perf_counter()
    tb.stop()
    tb.wait()
    rate = (n1 - n0) / (t1 - t0)
    return {
        "impl": "python",
        "modulation": modulation,
        "snr_db": snr_db,
        "calls_per_symbol": den._denoiser.calls_per_symbol,
        "samples_per_s": rate,
        **block_args,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--modulation", default="qpsk")
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--snr", type=float, default=-5.0)
    args = parser.parse_args()
    print(json.dumps(measure(args.modulation, args.seconds, args.snr)))


if __name__ == "__main__":
    main()
