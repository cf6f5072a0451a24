"""GNU Radio block: the receive side of ``ddpm_shaper``'s data mode."""

from __future__ import annotations

import threading

import numpy as np

from gnuradio import gr
from wigenai.matcher import CcdmMatcher
from wigenai.shaping import ShapedQam


class ccdm_dematcher(gr.basic_block):  # noqa: N801 (GNU Radio block naming)
    """Bits back from decided symbol indices of a constant-composition matcher.

    Input: bytes, the decided constellation index of each symbol (for instance the
    decision output of ``ddpm_denoiser``), aligned so that the first item starts a
    matcher block. Output: bytes, one bit per byte, ``bits_per_block()`` per
    ``block_symbols`` input symbols.

    Parameters are those of ``ddpm_shaper`` (order, pmf source, SNR, noise, model,
    pmf file or list, block symbols, seed); they must be the same for both, so that
    the receiver derives the same composition.

    A block whose symbols cannot come from the matcher (a symbol error changed its
    composition, or its rank is out of range) is reported: counted
    (``failed_blocks()``), logged (the first and then every tenfold count), and its
    bits are output as zeros so that the stream stays aligned; the next block is
    decoded as usual. Errors that keep the composition go undetected: that is the
    CRC's job.
    """

    def __init__(
        self,
        order=16,
        pmf_source="mb",
        snr_db=10.0,
        noise="awgn",
        model_file="",
        pmf_file="",
        pmf=(),
        block_symbols=1024,
        seed=0,
    ):
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
        gr.basic_block.__init__(
            self, name="ccdm_dematcher", in_sig=[np.uint8], out_sig=[np.uint8]
        )
        self._shaped = shaped
        self._block_symbols = block_symbols
        self._matcher = CcdmMatcher(shaped.pmf, block_symbols)
        self._lock = threading.Lock()
        self._failed = 0
        self._decoded = 0
        # The scheduler must only ask for whole blocks of bits (else a tail shorter
        # than one block would stall): the output multiple is k, and it follows k
        # when the SNR changes. The buffer has room for 4 blocks of any k, which is at
        # most block_symbols * log2(order).
        self.set_output_multiple(self._matcher.bits_per_block)
        largest_k = block_symbols * int(np.log2(shaped.order))
        self.set_min_output_buffer(max(1 << 15, 4 * largest_k))

    def set_snr_db(self, snr_db):
        """Re-derive the pmf and the matcher for a new SNR (from the next block)."""
        with self._lock:
            self._shaped.set_snr_db(snr_db)
            self._matcher = CcdmMatcher(self._shaped.pmf, self._block_symbols)
            self.set_output_multiple(self._matcher.bits_per_block)

    def snr_db(self):
        return self._shaped.snr_db

    def bits_per_block(self):
        return self._matcher.bits_per_block

    def failed_blocks(self):
        """Blocks whose symbols no matcher output could have produced."""
        return self._failed

    def decoded_blocks(self):
        return self._decoded

    def forecast(self, noutput_items, ninputs):
        blocks = max(noutput_items // self._matcher.bits_per_block, 1)
        return [blocks * self._matcher.symbols_per_block] * ninputs

    def general_work(self, input_items, output_items):
        with self._lock:
            m = self._matcher
            blocks = min(
                len(input_items[0]) // m.symbols_per_block,
                len(output_items[0]) // m.bits_per_block,
            )
            if blocks == 0:
                return 0
            symbols = np.asarray(input_items[0][: blocks * m.symbols_per_block])
            bits, ok = m.decode(symbols.astype(np.int64))
            output_items[0][: bits.size] = bits
            self.consume(0, blocks * m.symbols_per_block)
            self._report(ok)
            return int(bits.size)

    def _report(self, ok):
        for good in ok:
            self._decoded += 1
            if good:
                continue
            self._failed += 1
            if self._failed == 1 or np.log10(self._failed).is_integer():
                self.logger.warn(
                    f"matcher block {self._decoded - 1} cannot be decoded (symbol "
                    f"errors changed its composition); its bits are output as zeros "
                    f"({self._failed} failed so far; logged at 1, 10, 100, ...)"
                )
