"""GNU Radio block: burst detection, synchronization and equalization."""

from __future__ import annotations

import collections

import numpy as np
import pmt

from gnuradio import gr
from wigenai.burst import (
    DEFAULT_EQ_TAPS,
    DEFAULT_THRESHOLD,
    BurstReceiver,
    BurstResult,
    FrameFormat,
)

# Data symbols queued for the output above which no more input is taken: bounds the
# memory when the downstream blocks are slower than the receiver.
QUEUE_LIMIT = 1 << 18
# The Python gateway passes work()'s return on as an int.
WORK_DONE = int(gr.WORK_DONE)


class burst_sync(gr.basic_block):  # noqa: N801 (GNU Radio block naming)
    """Find bursts in raw samples and output their equalized data symbols.

    Runs the library receiver ``wigenai.burst.BurstReceiver`` (``push`` on each
    input chunk): differential preamble correlation for detection, coarse and fine
    CFO, fractional timing, a least-squares equalizer fit on the preamble, header
    check, pilot-aided phase tracking and the Es/N0 estimate on the known symbols.

    Input: complex samples at ``sps`` samples per symbol, as sent by ``burst_tx``
    (any gain, carrier offset within +-0.5 cycles per symbol, multipath within the
    equalizer's span). Non-finite samples are replaced by 0, counted
    (``nonfinite_count()``) and logged once.

    Output: complex, the data symbols (pilots removed) of each burst whose header
    decoded, equalized to the nominal unit-energy constellation, bursts back to
    back. Stream tags on the first data symbol of each burst: ``packet_len`` (long,
    its number of data symbols), ``esn0_db`` (double, the Es/N0 measured on its known
    symbols, every impairment included; ``ddpm_denoiser`` starts its chain there) and
    ``burst`` (dict: ``seq``, ``modulation``, ``pmf_id``, ``length`` (payload bytes),
    ``cfo_per_symbol``, ``start`` (input sample of the burst's first sample),
    ``snr_db``, ``metric``, ``header_ok``). Input tags are not propagated.

    Message output ``bursts``: one dict per burst found, also for failed headers and
    bursts cut off by the end of the stream: the fields of
    ``BurstResult.to_annotation()`` (``start`` is the input sample of the burst's
    first sample counted from the start of the stream) and ``metric``. Connect it to
    ``sigmf_sink``'s ``annotations`` port to record them.

    At the end of the stream (``stop()``) the receiver's buffer is flushed: a burst
    cut off there is counted in ``lost()`` and reported on ``bursts``. GNU Radio does
    not call a Python block once its input is done, so a complete burst that only the
    flush finds (its last symbol within about ``eq_taps + 8`` symbols of the end of
    the stream) is reported but its symbols cannot be output.

    Parameters
    ----------
    sps : int
        Samples per symbol, >= 2.
    rolloff : float
        RRC excess bandwidth, ``0 < rolloff <= 1``.
    span : int
        RRC length in symbols, >= 2.
    pilot_spacing : int
        Data symbols between pilots (0: none); the transmitter's.
    threshold : float
        Detection threshold on the normalized preamble correlation, in (0, 1).
    eq_taps : int
        Equalizer length in symbols, >= 1.
    max_payload : int
        Largest payload (bytes) the receiver keeps samples for, 0..65535; a longer
        burst is lost.
    """

    def __init__(
        self,
        sps=4,
        rolloff=0.35,
        span=11,
        pilot_spacing=32,
        threshold=DEFAULT_THRESHOLD,
        eq_taps=DEFAULT_EQ_TAPS,
        max_payload=4096,
    ):
        fmt = FrameFormat(
            sps=sps, rolloff=rolloff, span=span, pilot_spacing=pilot_spacing
        )
        self._rx = BurstReceiver(
            fmt, threshold=threshold, eq_taps=eq_taps, max_payload=max_payload
        )
        gr.basic_block.__init__(
            self, name="burst_sync", in_sig=[np.complex64], out_sig=[np.complex64]
        )
        self.set_tag_propagation_policy(gr.TPP_DONT)
        self._port = pmt.intern("bursts")
        self.message_port_register_out(self._port)
        self._srcid = pmt.intern(self.alias())

        self._queue = collections.deque()  # [symbols, tags, symbols already output]
        self._queued = 0
        self._origin = 0  # input sample of the receiver's sample 0 (since its reset)
        self._pushed = 0
        self._bursts = 0
        self._headers_ok = 0
        self._nonfinite = 0

    # ----- counts -------------------------------------------------------------------

    def bursts(self):
        """Bursts found (preambles detected), whatever became of them."""
        return self._bursts

    def headers_ok(self):
        """Bursts whose header decoded (including those cut off later)."""
        return self._headers_ok

    def lost(self):
        """Bursts cut off by the end of the stream (or longer than max_payload)."""
        return self._rx.lost

    def nonfinite_count(self):
        """Non-finite input samples replaced by 0."""
        return self._nonfinite

    # ----- results --------------------------------------------------------------------

    def _report(self, result: BurstResult) -> None:
        self._bursts += 1
        start = max(self._origin + result.start, 0)
        annotation = result.to_annotation()
        annotation.update(start=start, metric=round(float(result.metric), 4))
        self.message_port_pub(self._port, pmt.to_pmt(annotation))
        self._headers_ok += int(result.header_ok)
        if not (result.header_ok and result.complete):
            return
        header = result.header
        burst = {
            "seq": header.seq,
            "modulation": header.modulation,
            "pmf_id": header.pmf_id,
            "length": header.length,
            "cfo_per_symbol": float(result.cfo_per_symbol),
            "start": start,
            "snr_db": float(result.snr_db),
            "metric": float(result.metric),
            "header_ok": True,
        }
        symbols = np.asarray(result.symbols, dtype=np.complex64)
        if symbols.size == 0:
            return
        tags = [
            ("packet_len", pmt.from_long(symbols.size)),
            ("esn0_db", pmt.from_double(float(result.snr_db))),
            ("burst", pmt.to_pmt(burst)),
        ]
        self._queue.append([symbols, tags, 0])
        self._queued += symbols.size

    def _emit(self, out: np.ndarray) -> int:
        """Copy queued symbols into ``out``, tagging each burst's first symbol."""
        produced = 0
        while self._queue and produced < out.size:
            entry = self._queue[0]
            symbols, tags, done = entry
            count = min(out.size - produced, symbols.size - done)
            out[produced : produced + count] = symbols[done : done + count]
            if done == 0:
                offset = self.nitems_written(0) + produced
                for key, value in tags:
                    self.add_item_tag(0, offset, pmt.intern(key), value, self._srcid)
            entry[2] += count
            produced += count
            self._queued -= count
            if entry[2] == symbols.size:
                self._queue.popleft()
        return produced

    # ----- streaming ----------------------------------------------------------------

    def forecast(self, noutput_items, ninputs):
        # Queued symbols can go out without input; otherwise wait for samples.
        return [0 if self._queue else 1] * ninputs

    def general_work(self, input_items, output_items):
        out = output_items[0]
        produced = self._emit(out)
        samples = input_items[0]
        if self._queued >= QUEUE_LIMIT or samples.size == 0:
            return produced
        if not self._receive(self._sanitized(samples), final=False):
            return WORK_DONE
        self._pushed += samples.size
        self.consume(0, samples.size)
        return produced + self._emit(out[produced:])

    def _sanitized(self, samples: np.ndarray) -> np.ndarray:
        """``samples`` with non-finite values replaced by 0 (counted, logged once)."""
        bad = ~np.isfinite(samples)
        if not bad.any():
            return samples
        if self._nonfinite == 0:
            self.logger.warn(
                "non-finite input samples replaced by 0 (counted in "
                "nonfinite_count(); logged once)"
            )
        self._nonfinite += int(bad.sum())
        return np.where(bad, 0, samples)

    def _receive(self, samples: np.ndarray | None, final: bool) -> bool:
        """Push ``samples`` (or flush, when ``final``) and report the bursts found;
        False when the receiver failed."""
        try:
            results = self._rx.flush() if final else self._rx.push(samples)
        # A receiver failure is logged and ends the flowgraph; it must not raise
        # through the scheduler.
        except Exception as err:  # noqa: BLE001
            self.logger.error(f"receiver failed ({err}); stopping the flowgraph")
            return False
        for result in results:
            self._report(result)
        return True

    def stop(self):
        """End of stream: flush the receiver (a burst cut off is counted as lost)."""
        self._receive(None, final=True)
        self._origin = self._pushed
        if self._queue:
            self.logger.info(
                f"{len(self._queue)} burst(s) found at the end of the stream; their "
                "symbols cannot be output any more"
            )
            self._queue.clear()
            self._queued = 0
        return True
