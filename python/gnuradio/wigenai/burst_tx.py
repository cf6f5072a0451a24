"""GNU Radio block: the burst transmitter (PDUs or test traffic to RRC-shaped bursts)."""

from __future__ import annotations

import collections
import math
import time

import numpy as np
import pmt

from gnuradio import gr
from wigenai.burst import MAX_PAYLOAD_BYTES, FrameFormat, build_burst, known_payload
from wigenai.constellation import order_of

MODES = ("pdu", "test")
IDLES = ("zeros", "wait")
# The Python gateway compares work()'s return with 0: it needs the plain int.
WORK_DONE = int(gr.WORK_DONE)
# How long work() sleeps between looks at the PDU queue in idle "wait" mode: the PDU
# handler runs in this block's thread between work() calls, so work() cannot block on
# the queue itself; this bounds the added latency while keeping the CPU idle.
IDLE_WAIT_S = 0.005


def _integer(value, name: str, low: int, high: int | None = None) -> int:
    ok = isinstance(value, (int, np.integer)) and not isinstance(value, bool)
    if not ok or value < low or (high is not None and value > high):
        span = f">= {low}" if high is None else f"in {low}..{high}"
        raise ValueError(f"{name}: expected an integer {span}, got {value!r}")
    return int(value)


class burst_tx(gr.sync_block):  # noqa: N801 (GNU Radio block naming)
    """Frame payloads into bursts and pulse-shape them (``wigenai.burst.build_burst``).

    Each burst is a preamble, a header (length, modulation, shaping id, sequence
    number), the payload with its CRC-32 and pilots, RRC-shaped at ``sps`` samples per
    symbol with the filter tails, followed by ``gap`` zero samples. Sequence numbers
    count up from 0, mod 65536. The samples have mean power ``amplitude**2 / sps``;
    at ``amplitude = 1`` the peak magnitude is about 0.78 (QPSK), 0.92 (16-QAM) and
    1.0 (64-QAM) with the default RRC.

    Message input ``pdus``: GNU Radio PDUs (``pmt.cons(metadata, u8vector)``), the
    vector being the payload bytes (at most 65535). A message that is not a PDU of
    bytes, or whose payload is too long for the header, is dropped: counted
    (``dropped()``) and logged once per kind.

    Output: complex samples. Stream tags, for UHD and for the receiver's tests:
    ``tx_sob`` (True) on a burst's first sample and ``tx_eob`` (True) on its last,
    ``packet_len`` (long, burst length in samples, gap excluded) and ``burst_seq``
    (long, its sequence number) on its first sample.

    Parameters
    ----------
    modulation : str
        ``qpsk``, ``16qam`` or ``64qam``.
    sps : int
        Samples per symbol, >= 2.
    rolloff : float
        RRC excess bandwidth, ``0 < rolloff <= 1``.
    span : int
        RRC length in symbols, >= 2.
    pilot_spacing : int
        One pilot after every ``pilot_spacing`` data symbols (0: none).
    gap : int
        Zero samples after each burst, >= 0.
    mode : str
        ``pdu`` (payloads from the ``pdus`` port) or ``test`` (payload ``seq`` is
        ``wigenai.burst.known_payload(payload_seed, seq, payload_len)``, so a receiver
        that knows the seed counts bit errors).
    payload_len : int
        Test mode: payload bytes per burst, 0..65535.
    payload_seed : int
        Test mode: payload seed, >= 0.
    n_bursts : int
        Test mode: bursts to send before the block ends the stream; 0 sends forever.
    idle : str
        What the output does while no PDU is queued (``pdu`` mode): ``zeros``
        (a continuous stream of zeros, for PlutoSDR and simulation; add a throttle in
        a simulation) or ``wait`` (nothing: bursts only, for UHD; the block sleeps in
        steps of 5 ms instead of spinning). With ``wait``, set ``gap`` to 0 for UHD:
        zeros after ``tx_eob`` would start a new, unterminated burst there.
    amplitude : float
        Scale of the samples (back off the DAC), finite and > 0.
    pmf_id : int
        Shaping id sent in the header, 0..255 (0: uniform).
    """

    def __init__(
        self,
        modulation="qpsk",
        sps=4,
        rolloff=0.35,
        span=11,
        pilot_spacing=32,
        gap=128,
        mode="pdu",
        payload_len=64,
        payload_seed=0,
        n_bursts=0,
        idle="zeros",
        amplitude=1.0,
        pmf_id=0,
    ):
        self._modulation = str(modulation).lower()
        order_of(self._modulation)
        self._fmt = FrameFormat(
            sps=sps, rolloff=rolloff, span=span, pilot_spacing=pilot_spacing
        )
        self._gap = _integer(gap, "gap", 0)
        self._mode = str(mode).lower()
        if self._mode not in MODES:
            raise ValueError(f"mode: unknown {mode!r}, expected one of {MODES}")
        self._payload_len = _integer(payload_len, "payload_len", 0, MAX_PAYLOAD_BYTES)
        self._payload_seed = _integer(payload_seed, "payload_seed", 0)
        self._n_bursts = _integer(n_bursts, "n_bursts", 0)
        self._idle = str(idle).lower()
        if self._idle not in IDLES:
            raise ValueError(f"idle: unknown {idle!r}, expected one of {IDLES}")
        self._pmf_id = _integer(pmf_id, "pmf_id", 0, 255)
        self._amplitude = 1.0
        self.set_amplitude(amplitude)

        gr.sync_block.__init__(self, name="burst_tx", in_sig=None, out_sig=[np.complex64])
        self._port = pmt.intern("pdus")
        self.message_port_register_in(self._port)
        self.set_msg_handler(self._port, self._on_pdu)
        self._srcid = pmt.intern(self.alias())

        # The PDU handler appends, work() pops: deque ends are safe across threads.
        self._payloads = collections.deque()
        self._seq = 0
        self._sent = 0
        self._dropped = 0
        self._warned = set()
        # The burst being written: its samples (gap included) and how many are out.
        self._pending = np.zeros(0, dtype=np.complex64)
        self._pending_out = 0
        self._pending_len = 0

    # ----- settings and counts ------------------------------------------------------

    def set_amplitude(self, amplitude):
        """Scale of the samples from the next burst on; finite and > 0."""
        try:
            value = float(amplitude)
        except (TypeError, ValueError):
            raise ValueError(f"amplitude: expected a number, got {amplitude!r}") from None
        if not math.isfinite(value) or value <= 0:
            raise ValueError(f"amplitude: expected a finite value > 0, got {amplitude!r}")
        self._amplitude = value

    def amplitude(self):
        """Scale of the samples."""
        return self._amplitude

    def bursts(self):
        """Bursts whose first sample has been output."""
        return self._sent

    def dropped(self):
        """PDUs dropped (not bytes, or too long for the header)."""
        return self._dropped

    def queued(self):
        """PDUs waiting to be sent."""
        return len(self._payloads)

    # ----- input ----------------------------------------------------------------------

    def _drop(self, kind: str, detail: str) -> None:
        self._dropped += 1
        if kind not in self._warned:
            self._warned.add(kind)
            self.logger.warn(
                f"dropped a PDU: {detail} (counted in dropped(); logged once per kind)"
            )

    def _on_pdu(self, msg) -> None:
        if not pmt.is_pair(msg) or not pmt.is_u8vector(pmt.cdr(msg)):
            self._drop(
                "type", "expected pmt.cons(metadata, u8vector) with the payload bytes"
            )
            return
        payload = bytes(pmt.u8vector_elements(pmt.cdr(msg)))
        if len(payload) > MAX_PAYLOAD_BYTES:
            self._drop(
                "length",
                f"{len(payload)} bytes, the header holds at most {MAX_PAYLOAD_BYTES}",
            )
            return
        self._payloads.append(payload)

    def _next_payload(self) -> bytes | None:
        if self._mode == "test":
            if self._n_bursts and self._sent >= self._n_bursts:
                return None
            return known_payload(self._payload_seed, self._seq, self._payload_len)
        return self._payloads.popleft() if self._payloads else None

    def _load_burst(self, payload: bytes) -> None:
        _, samples = build_burst(
            payload, self._fmt, self._modulation, self._pmf_id, self._seq
        )
        burst = np.zeros(samples.size + self._gap, dtype=np.complex64)
        burst[: samples.size] = self._amplitude * samples
        self._pending, self._pending_out, self._pending_len = burst, 0, samples.size

    # ----- streaming ----------------------------------------------------------------

    def _tag(self, offset: int, key: str, value) -> None:
        self.add_item_tag(0, offset, pmt.intern(key), value, self._srcid)

    def work(self, input_items, output_items):
        out = output_items[0]
        produced = 0
        while produced < out.size:
            if self._pending_out == self._pending.size:
                payload = self._next_payload()
                if payload is None:
                    break
                self._load_burst(payload)
            start = self._pending_out
            count = min(out.size - produced, self._pending.size - start)
            out[produced : produced + count] = self._pending[start : start + count]
            base = self.nitems_written(0) + produced - start
            last = self._pending_len - 1
            if start == 0:
                self._tag(base, "tx_sob", pmt.PMT_T)
                self._tag(base, "packet_len", pmt.from_long(self._pending_len))
                self._tag(base, "burst_seq", pmt.from_long(self._seq))
                self._sent += 1
                self._seq = (self._seq + 1) % 65536
            if start <= last < start + count:
                self._tag(base + last, "tx_eob", pmt.PMT_T)
            self._pending_out += count
            produced += count

        if produced:
            return produced
        if self._mode == "test":
            return WORK_DONE
        if self._idle == "zeros":
            out[:] = 0
            return out.size
        # Idle "wait": the PDU handler only runs once work() returns.
        time.sleep(IDLE_WAIT_S)
        return 0
