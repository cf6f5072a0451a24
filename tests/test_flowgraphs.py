"""Real GNU Radio flowgraphs: every .grc compiles, the loopback runs and agrees.

These tests use the module installed into the venv (``make test`` installs it first).
"""

import math
from pathlib import Path

import numpy as np
import pytest

gr = pytest.importorskip("gnuradio.gr")
wigenai_gr = pytest.importorskip("gnuradio.wigenai")

from grc_loader import compile_grc, load_top_block  # noqa: E402
from wigenai.ber import run_sweep  # noqa: E402
from wigenai.channel import LinkParams  # noqa: E402
from wigenai.constellation import Constellation  # noqa: E402
from wigenai.metrics import theory_ber  # noqa: E402
from wigenai.receivers import MapReceiver  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
FLOWGRAPHS = sorted(
    p for p in ROOT.rglob("*.grc") if ".venv" not in p.parts and "build" not in p.parts
)


def test_there_are_flowgraphs():
    assert {p.name for p in FLOWGRAPHS} >= {"loopback_headless.grc", "loopback_qt.grc"}


@pytest.mark.parametrize("grc", FLOWGRAPHS, ids=lambda p: p.name)
def test_flowgraph_compiles_with_grcc(grc, tmp_path):
    py = compile_grc(grc, tmp_path)
    assert py.exists()
    compile(py.read_text(), str(py), "exec")


def _loopback_ber(modulation, snr_db, n, **link):
    top = load_top_block(ROOT / "apps" / "loopback_headless.grc")
    tb = top(modulation=modulation, snr_db=snr_db, n_symbols=n, seed=5, **link)
    tb.run()
    sent = np.asarray(tb.sent_sink.data(), np.int64)
    got = np.asarray(tb.decided_sink.data(), np.int64)
    assert sent.size == n and got.size == n
    const = Constellation.named(modulation)
    return const.bit_errors(sent, got) / (n * const.bits_per_symbol)


@pytest.mark.parametrize("modulation,snr_db", [("qpsk", 0.0), ("16qam", 12.0)])
def test_ideal_loopback_matches_theory(modulation, snr_db):
    n = 100_000
    ber = _loopback_ber(
        modulation,
        snr_db,
        n,
        kappa_t=0.0,
        kappa_r=0.0,
        quant_bits=0,
        adc_bits=0,
        noise="awgn",
    )
    p = float(theory_ber(modulation, snr_db))
    bits = n * Constellation.named(modulation).bits_per_symbol
    assert abs(ber - p) < 4 * math.sqrt(p * (1 - p) / bits)


@pytest.mark.parametrize("noise", ["awgn", "laplace"])
def test_impaired_loopback_matches_library(noise):
    """Block and library agree through the whole chain on the default impaired link."""
    n = 100_000
    link = dict(kappa_t=0.1, kappa_r=0.1, quant_bits=4, adc_bits=4, noise=noise)
    ber = _loopback_ber("16qam", 10.0, n, **link)
    const = Constellation(16)
    lib = run_sweep(
        LinkParams(snr_db=10.0, **link),
        [10.0],
        [MapReceiver(const)],
        n,
        seed=11,
        progress=False,
    )[0].ber
    se = math.sqrt(2 * lib * (1 - lib) / (n * 4))
    assert abs(ber - lib) < 4 * se


def test_qt_loopback_starts_offscreen(tmp_path):
    """The QT flowgraph builds its window and runs for a few seconds without error."""
    import os
    import subprocess
    import sys

    py = compile_grc(ROOT / "apps" / "loopback_qt.grc", tmp_path)
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    try:
        proc = subprocess.run(
            [sys.executable, str(py)], env=env, capture_output=True, text=True, timeout=6
        )
        pytest.fail(f"flowgraph exited early ({proc.returncode}):\n{proc.stderr}")
    except subprocess.TimeoutExpired as done:
        stderr = (done.stderr or b"").decode(errors="replace")
        assert "Traceback" not in stderr, stderr


@pytest.mark.parametrize("pmf_source", ["mb", "ba"])
def test_shaped_loopback_round_trips_a_million_bits(pmf_source):
    """Bits -> matcher -> link at 30 dB -> DDPM denoiser / GNU Radio decoder ->
    dematcher: bit-exact on both receive paths."""
    top = load_top_block(ROOT / "apps" / "loopback_shaped.grc")
    tb = top(order=16, pmf_source=pmf_source, snr_db=30.0, n_blocks=260, seed=3)
    tb.run()
    sent = np.asarray(tb.sent_sink.data(), np.uint8)
    assert sent.size == 260 * tb.k_bits > 1_000_000
    assert tb.k_bits / 1024 < 4.0  # CCDM carries less than log2(16) per symbol
    for sink, dematcher in (
        (tb.ddpm_sink, tb.ddpm_dematcher),
        (tb.conv_sink, tb.conv_dematcher),
    ):
        got = np.asarray(sink.data(), np.uint8)
        assert dematcher.failed_blocks() == 0
        np.testing.assert_array_equal(got, sent)


def test_shaped_loopback_reports_failed_blocks_at_low_snr():
    top = load_top_block(ROOT / "apps" / "loopback_shaped.grc")
    tb = top(order=16, pmf_source="mb", snr_db=12.0, n_blocks=20, seed=3)
    tb.run()
    sent = np.asarray(tb.sent_sink.data(), np.uint8)
    got = np.asarray(tb.conv_sink.data(), np.uint8)
    assert got.size == sent.size  # failed blocks still give their (zero) bits
    assert 0 < tb.conv_dematcher.failed_blocks() <= 20


def test_cpp_and_python_denoisers_decide_alike_in_a_flowgraph():
    top = load_top_block(ROOT / "apps" / "loopback_ddpm.grc")
    tb = top(modulation="16qam", snr_db=0.0, n_symbols=40_000, seed=3)
    tb.run()
    python = np.asarray(tb.ddpm_sink.data(), np.int64)
    cpp = np.asarray(tb.ddpm_cc_sink.data(), np.int64)
    assert python.size == cpp.size == 40_000
    assert np.mean(python == cpp) > 0.9995


def test_bench_measures_every_case_in_a_running_flowgraph():
    from wigenai import bench

    doc = bench.run_bench(
        "qpsk",
        -5.0,
        [2],
        [1024],
        ("cpp", "python", "per_item"),
        seconds=0.5,
        warmup=0.2,
        rounds=1,
        progress=False,
    )
    impls = {r["impl"] for r in doc["records"]}
    assert impls == {"cpp", "python", "per_item"}
    for r in doc["records"]:
        assert r["samples_per_s"] > 0 and r["calls_per_symbol"] == 2
        # GFLOP/s is the measured rate times the network's matrix work (no timing).
        expected = r["samples_per_s"] * r["calls_per_symbol"] * doc["flops_per_eval"]
        assert r["gflops"] == pytest.approx(expected / 1e9, abs=0.01)
        assert r["matmul_gflops"] > 0
    assert set(doc["ratios"]) >= {"cpp_over_python", "cpp_over_per_item"}
    assert doc["cuda"]["available"] in (True, False)


def test_structured_loopback_reproduces_the_command_line_ber():
    """apps/loopback_structured.grc (Structured Channel with the pluto-like preset, the
    preset's DDPM in the Python and the C++ denoiser blocks) gives the BER that
    ``wigenai ber --link pluto-like`` measures, within Monte Carlo error."""
    from wigenai.link_ber import make_receivers, sweep

    n, snr_db = 100_000, 18.0
    top = load_top_block(ROOT / "apps" / "loopback_structured.grc")
    tb = top(link="pluto-like", snr_db=snr_db, n_symbols=n, seed=5)
    tb.run()
    sent = np.asarray(tb.sent_sink.data(), np.int64)
    const = Constellation.named("16qam")
    receivers = make_receivers(["nearest", "ddpm"], "pluto-like", {})
    cli = {r.method: r.ber for r in sweep("pluto-like", [snr_db], receivers, n, seed=3)}
    assert 0 < cli["ddpm"] < 0.5 * cli["nearest"]
    bits = n * const.bits_per_symbol
    for method, sink in (
        ("nearest", tb.decided_sink),
        ("ddpm", tb.ddpm_sink),
        ("ddpm", tb.ddpm_cc_sink),
    ):
        got = np.asarray(sink.data(), np.int64)
        assert got.size == n
        ber = const.bit_errors(sent, got) / bits
        se = math.sqrt((ber + cli[method]) / bits)
        assert abs(ber - cli[method]) < 4 * se, (method, ber, cli[method])
