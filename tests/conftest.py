"""Test set-up.

The library ``wigenai`` is imported from the source tree, so that library tests need
no install. The GNU Radio package ``gnuradio.wigenai`` needs its compiled bindings, so
it always comes from the install (``make test`` installs into ``.venv/`` first): the
source folder ``python/gnuradio`` is kept out of ``gnuradio.__path__``.
"""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "python"))
sys.path.insert(1, str(ROOT / "apps"))

try:
    import gnuradio

    source = str(ROOT / "python" / "gnuradio")
    gnuradio.__path__ = [p for p in gnuradio.__path__ if p != source]
except ImportError:  # the library tests run without GNU Radio
    pass
