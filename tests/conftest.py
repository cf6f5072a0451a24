"""Test set-up: the library from the source tree; GNU Radio tests use the install."""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "python"))
