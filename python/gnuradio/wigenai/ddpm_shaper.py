"""GNU Radio block: probabilistically shaped QAM transmitter (DDPM, MB, BA, file)."""

from __future__ import annotations

import threading

import numpy as np

from gnuradio import gr
from wigenai.matcher import CcdmMatcher
from wigenai.shaping import ShapedQam

MODES = ("generator", "data")


class ddpm_shaper(gr.basic_block):  # noqa: N801 (GNU Radio block naming)
    """Shaped QAM symbols from a pmf chosen for the link SNR (case study 2).

    Output: complex symbols of the square QAM scaled to unit average energy under
    the pmf (shaping never raises the transmit power).

    Modes:

    ``generator``
        no input; i.i.d. symbols drawn from the pmf (for probing a link).
    ``data``
        input: bytes, one bit per byte (0 or 1, as ``blocks.unpack_k_bits_bb``
        gives); a constant-composition distribution matcher turns every
        ``bits_per_block()`` bits into ``block_symbols`` symbols whose composition
        follows the pmf. ``ccdm_dematcher`` with the same parameters undoes it.

    The pmf comes from ``pmf_source``: ``ddpm`` (the paper's shaper model),
    ``mb`` (Maxwell-Boltzmann), ``ba`` (Blahut-Arimoto), ``uniform``, ``file`` (a JSON
    pmf) or ``custom`` (``pmf``). ``set_snr_db`` re-derives it at run time; in data
    mode the new pmf takes effect at the next block, and the dematcher must be given
    the same SNR (in GRC: the same variable).

    A byte other than 0 or 1 in data mode is reduced to its lowest bit, counted
    (``nonbinary_count()``) and logged once.
    """

    def __init__(
        self,
        order=16,
        mode="data",
        pmf_source="mb",
        snr_db=10.0,
        noise="awgn",
        model_file="",
        pmf_file="",
        pmf=(),
        block_symbols=1024,
        seed=0,
    ):
        mode = str(mode).lower()
        if mode not in MODES:
            raise ValueError(f"mode: unknown {mode!r}, expected one of {MODES}")
        shaped = ShapedQam(
            order,
            pmf_source,
            snr_db,
            noise,
            model_file,
            pmf_file,
            list(pmf) or None,
            seed,
        )
        in_sig = [np.uint8] if mode == "data" else None
        gr.basic_block.__init__(
            self, name="ddpm_shaper", in_sig=in_sig, out_sig=[np.complex64]
        )
        self._mode = mode
        self._shaped = shaped
        self._block_symbols = block_symbols
        self._matcher = CcdmMatcher(shaped.pmf, block_symbols) if mode == "data" else None
        self._rng = np.random.default_rng(seed)
        self._lock = threading.Lock()
        self._nonbinary = 0
        if mode == "data":
            self.set_output_multiple(self._matcher.symbols_per_block)
        self._log_setting()

    def _log_setting(self):
        text = (
            f"{self._shaped.order}-QAM, pmf {self._shaped.source} at "
            f"{self._shaped.snr_db:g} dB, entropy {self.entropy_bits():.3f} bit"
        )
        if self._matcher is not None:
            m = self._matcher
            text += (
                f"; matcher {m.bits_per_block} bits -> {m.symbols_per_block} symbols "
                f"({m.rate:.4f} bit/symbol, rate loss {m.rate_loss:.4f})"
            )
        self.logger.info(text)

    # ----- run-time settings ------------------------------------------------------

    def set_snr_db(self, snr_db):
        """Re-derive the pmf for a new link SNR (the matcher follows)."""
        with self._lock:
            self._shaped.set_snr_db(snr_db)
            if self._matcher is not None:
                self._matcher = CcdmMatcher(self._shaped.pmf, self._block_symbols)
        self._log_setting()

    def snr_db(self):
        return self._shaped.snr_db

    def pmf(self):
        """The pmf in use, one entry per constellation point."""
        return [float(p) for p in self._shaped.pmf]

    def points(self):
        """The transmitted points (unit average energy under the pmf)."""
        return [complex(p) for p in self._shaped.points]

    def nominal_energy(self):
        """Energy of the nominal points under the pmf (see ``wigenai.shaping``)."""
        return self._shaped.nominal_energy

    def entropy_bits(self):
        p = self._shaped.pmf[self._shaped.pmf > 0]
        return float(-(p * np.log2(p)).sum())

    def bits_per_block(self):
        return 0 if self._matcher is None else self._matcher.bits_per_block

    def rate_bits(self):
        """Information bits per symbol carried in data mode."""
        return 0.0 if self._matcher is None else self._matcher.rate

    def rate_loss_bits(self):
        """Matcher rate loss, bits per symbol: entropy of the composition - rate."""
        return 0.0 if self._matcher is None else self._matcher.rate_loss

    def nonbinary_count(self):
        return self._nonbinary

    # ----- streaming --------------------------------------------------------------

    def forecast(self, noutput_items, ninputs):
        if self._matcher is None:
            return [0] * ninputs
        blocks = max(noutput_items // self._matcher.symbols_per_block, 1)
        return [blocks * self._matcher.bits_per_block] * ninputs

    def general_work(self, input_items, output_items):
        out = output_items[0]
        with self._lock:
            if self._matcher is None:
                index = self._rng.choice(self._shaped.order, len(out), p=self._shaped.pmf)
                out[:] = self._shaped.points[index]
                return len(out)
            m = self._matcher
            blocks = min(
                len(input_items[0]) // m.bits_per_block, len(out) // m.symbols_per_block
            )
            if blocks == 0:
                return 0
            bits = np.asarray(input_items[0][: blocks * m.bits_per_block])
            if np.any(bits > 1):
                if self._nonbinary == 0:
                    self.logger.warn(
                        "input bytes other than 0/1 are reduced to their lowest bit "
                        "(counted in nonbinary_count(); logged once)"
                    )
                self._nonbinary += int(np.count_nonzero(bits > 1))
                bits = bits & 1
            index = m.encode(bits)
            out[: index.size] = self._shaped.points[index]
            self.consume(0, blocks * m.bits_per_block)
            return int(index.size)
