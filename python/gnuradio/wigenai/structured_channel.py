"""GNU Radio block: a named structured link (PA, IQ imbalance, phase noise, ADC...)."""

from __future__ import annotations

import threading

import numpy as np

from gnuradio import gr
from wigenai.impairments import transmit_stream
from wigenai.presets import describe, preset

from ._inputs import finite_input


class structured_channel(gr.sync_block):  # noqa: N801 (GNU Radio block naming)
    """Symbol-spaced simulator of a link preset of ``wigenai.presets``.

    Input: unit-energy constellation symbols, one per item. Output: the received
    samples of the preset's link (``pluto-like``: Rapp PA at 1 dB back-off, receive
    IQ imbalance, tracked phase noise, DC offset, AWGN, 8-bit ADC; ``harsh``,
    ``paper``; see ``wigenai.presets``), the same law the BER command line and the
    shipped ``*-pluto-like`` / ``*-harsh`` models use. The samples are those of
    ``wigenai.impairments.transmit_stream`` on the whole stream, however the
    scheduler cuts it: blocks of ``block`` items at fixed indices, each drawn from
    ``[seed, k]``.

    Non-finite input symbols are replaced by 0 (counted, logged once).

    Parameters
    ----------
    link : str
        Preset name: ``paper``, ``pluto-like`` or ``harsh``.
    snr_db : float
        Es/N0 per complex symbol, dB; settable at run time.
    seed : int
        Seed of the stream (>= 0).
    overrides : dict
        Preset values to change, e.g. ``{"pa_backoff_db": 3.0}`` (keys of
        ``wigenai.presets.DEFAULTS``).
    block : int
        Items per independently seeded block.
    """

    def __init__(
        self, link="pluto-like", snr_db=18.0, seed=0, overrides=None, block=4096
    ):
        overrides = dict(overrides or {})
        if isinstance(seed, bool) or int(seed) != seed or seed < 0:
            raise ValueError(f"seed: expected an integer >= 0, got {seed!r}")
        if isinstance(block, bool) or int(block) != block or block < 1:
            raise ValueError(f"block: expected an integer >= 1, got {block!r}")
        self._link = preset(link, snr_db, **overrides)
        info = describe(link, **overrides)
        gr.sync_block.__init__(
            self, name="structured_channel", in_sig=[np.complex64], out_sig=[np.complex64]
        )
        self._name = info["link"]
        self._seed = int(seed)
        self._block = int(block)
        self._lock = threading.Lock()
        self._nonfinite = 0
        self.logger.info(
            f"link {self._name} at {snr_db} dB"
            + (f", changed {overrides}" if overrides else "")
            + f": {info['summary']}"
        )

    def set_snr_db(self, snr_db):
        """Change the Es/N0 (dB); raises ValueError naming snr_db if not finite."""
        with self._lock:
            self._link.set_snr_db(snr_db)

    def snr_db(self):
        """The Es/N0 in dB."""
        return self._link.snr_db

    def link(self):
        """The preset's name."""
        return self._name

    def nonfinite_count(self):
        """Number of non-finite input symbols replaced by 0 so far."""
        return self._nonfinite

    def work(self, input_items, output_items):
        x = finite_input(self, input_items[0], "symbols")
        with self._lock:
            y = transmit_stream(
                self._link, x, self._seed, start=self.nitems_read(0), block=self._block
            )
        output_items[0][: x.size] = y
        return x.size
