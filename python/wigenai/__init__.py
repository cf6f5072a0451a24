"""wigenai: the signal-processing and learning library behind gr-wigenai.

Imports without GNU Radio, so that channels, metrics and model training run on any
machine with numpy (and torch for training). The GNU Radio blocks in
``gnuradio.wigenai`` wrap this library.
"""

__version__ = "0.1.0"
