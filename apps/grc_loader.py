"""Compile a GRC flowgraph with grcc and import its top block class.

Used by ``apps/demo.py`` and by the tests, so that what runs is exactly what a user
opens in GNU Radio Companion. The generated Python goes to ``build/apps/`` and is
regenerated when the ``.grc`` file is newer.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "build" / "apps"


def blocks_path() -> str:
    """GRC_BLOCKS_PATH for the module installed in the running venv."""
    return os.environ.get(
        "GRC_BLOCKS_PATH", str(Path(sys.prefix) / "share" / "gnuradio" / "grc" / "blocks")
    )


def compile_grc(grc: Path, out_dir: Path = OUT) -> Path:
    """Run grcc on ``grc``; return the generated Python file."""
    grc = Path(grc)
    out_dir.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, GRC_BLOCKS_PATH=blocks_path())
    # grcc runs with this interpreter so that it sees the venv's packages when it
    # evaluates the flowgraph's imports and variables.
    grcc = shutil.which("grcc", path="/usr/bin") or "grcc"
    proc = subprocess.run(
        [sys.executable, grcc, "-o", str(out_dir), str(grc)],
        env=env,
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"grcc failed on {grc}:\n{proc.stdout}\n{proc.stderr}")
    return out_dir / f"{_flowgraph_id(grc)}.py"


def _flowgraph_id(grc: Path) -> str:
    import yaml

    with open(grc) as fh:
        return yaml.safe_load(fh)["options"]["parameters"]["id"]


def load_top_block(grc: Path):
    """Compile ``grc`` if needed and return its top block class."""
    grc = Path(grc)
    py = OUT / f"{_flowgraph_id(grc)}.py"
    if not py.exists() or py.stat().st_mtime < grc.stat().st_mtime:
        py = compile_grc(grc)
    spec = importlib.util.spec_from_file_location(py.stem, py)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return getattr(module, py.stem)
