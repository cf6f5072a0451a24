"""GNU Radio block: decisions and CRC check per burst, payloads out as PDUs."""

from __future__ import annotations

import numpy as np
import pmt

from gnuradio import gr
from wigenai.burst import (
    FrameFormat,
    Header,
    bit_errors,
    decode_payload,
    known_payload,
)

BURST_KEY = pmt.intern("burst")
LENGTH_KEY = pmt.intern("packet_len")


class burst_decoder(gr.sync_block):  # noqa: N801 (GNU Radio block naming)
    """Decide each burst's symbols, check its CRC-32 and output its payload as a PDU.

    Input: complex data symbols at the nominal unit-energy scale, as output by
    ``burst_sync`` (or by a ``ddpm_denoiser`` after it: sync blocks pass the tags
    on). A burst starts at an item tagged ``burst``, the dict ``burst_sync`` writes
    (``seq``, ``modulation``, ``pmf_id``, ``length`` in payload bytes; ``snr_db``,
    ``cfo_per_symbol`` and ``start`` are passed on to the metadata), and spans the
    number of items given by the ``packet_len`` tag on the same item (without one,
    the number its header implies). Symbols outside a burst are ignored and counted;
    a burst cut short by the next ``burst`` tag or by the end of the stream is
    counted as truncated; a tag without a valid header is counted as malformed.

    Decisions and CRC: ``wigenai.burst.decode_payload`` (nearest constellation point,
    Gray bits, CRC-32).

    Message output ``pdus``: one PDU per burst whose CRC is correct (and per failed
    one with ``emit_failed``): ``pmt.cons(metadata, u8vector payload)``, metadata a
    dict with ``seq``, ``crc_ok``, ``esn0_db`` (the tag's ``snr_db``),
    ``cfo_per_symbol``, ``modulation``, ``pmf_id``, ``start`` (input sample of the
    burst at ``burst_sync``) and, with a payload seed, ``bit_errors``.

    Parameters
    ----------
    payload_seed : int
        -1: the payloads are unknown. >= 0: the transmitter's test-mode seed; the
        bit errors of each burst are counted against
        ``wigenai.burst.known_payload(payload_seed, seq, length)``.
    emit_failed : bool
        Also output PDUs whose CRC failed (``crc_ok`` False in the metadata).
    """

    def __init__(self, payload_seed=-1, emit_failed=False):
        ok = isinstance(payload_seed, (int, np.integer)) and not isinstance(
            payload_seed, bool
        )
        if not ok or payload_seed < -1:
            raise ValueError(
                f"payload_seed: expected -1 (unknown) or an integer >= 0, "
                f"got {payload_seed!r}"
            )
        gr.sync_block.__init__(
            self, name="burst_decoder", in_sig=[np.complex64], out_sig=None
        )
        self._seed = int(payload_seed)
        self._emit_failed = bool(emit_failed)
        self._port = pmt.intern("pdus")
        self.message_port_register_out(self._port)
        self._fmt = FrameFormat()

        self._burst = None  # (header, info dict, symbols list, symbols still needed)
        self._bursts = 0
        self._crc_ok = 0
        self._bit_errors = 0
        self._bits = 0
        self._ignored = 0
        self._truncated = 0
        self._malformed = 0

    # ----- counts -------------------------------------------------------------------

    def bursts(self):
        """Bursts decoded (CRC correct or not)."""
        return self._bursts

    def crc_ok(self):
        """Bursts whose CRC-32 was correct."""
        return self._crc_ok

    def bit_errors(self):
        """Payload bit errors against the known payloads (0 without a payload seed)."""
        return self._bit_errors

    def bits(self):
        """Payload bits compared (0 without a payload seed)."""
        return self._bits

    def stats(self):
        """All counts as a dict, with ``ber`` (None before any bit was compared)."""
        return {
            "bursts": self._bursts,
            "crc_ok": self._crc_ok,
            "crc_failed": self._bursts - self._crc_ok,
            "bit_errors": self._bit_errors,
            "bits": self._bits,
            "ber": self._bit_errors / self._bits if self._bits else None,
            "ignored_symbols": self._ignored,
            "truncated": self._truncated,
            "malformed": self._malformed,
        }

    # ----- bursts ---------------------------------------------------------------------

    def _open(self, info, n_symbols) -> None:
        """Start collecting the burst described by a ``burst`` tag's dict."""
        if self._burst is not None:
            self._truncated += 1
            if self._truncated == 1:
                self.logger.warn(
                    f"burst {self._burst[0].seq} cut short by the next burst tag "
                    "(counted in stats()['truncated'], logged once)"
                )
            self._burst = None
        try:
            header = Header(
                length=int(info["length"]),
                modulation=str(info["modulation"]),
                pmf_id=int(info.get("pmf_id", 0)),
                seq=int(info["seq"]),
            )
        except (KeyError, TypeError, ValueError) as err:
            self._skip_malformed(f"a burst tag without a valid header ({err})")
            return
        if n_symbols is None:
            n_symbols = self._fmt.n_data_symbols(header.length, header.modulation)
        if n_symbols < 1:
            self._skip_malformed(f"burst {header.seq} with packet_len {n_symbols}")
            return
        self._burst = (header, info, [], int(n_symbols))

    def _skip_malformed(self, what: str) -> None:
        self._malformed += 1
        if self._malformed == 1:
            self.logger.warn(
                f"ignored {what}; counted in stats()['malformed'], logged once"
            )

    def _take(self, symbols: np.ndarray) -> None:
        """Give ``symbols`` to the open burst; what it does not need is ignored."""
        if self._burst is None:
            self._ignored += symbols.size
            return
        header, info, parts, need = self._burst
        part = symbols[:need]
        parts.append(part)
        self._ignored += symbols.size - part.size
        need -= part.size
        self._burst = (header, info, parts, need)
        if need == 0:
            self._burst = None
            self._decode(header, info, np.concatenate(parts))

    def _decode(self, header: Header, info: dict, symbols: np.ndarray) -> None:
        try:
            _, payload, crc_ok = decode_payload(symbols, header)
        except ValueError as err:
            self._skip_malformed(f"burst {header.seq}, not decoded: {err}")
            return
        self._bursts += 1
        self._crc_ok += int(crc_ok)
        meta = {
            "seq": header.seq,
            "crc_ok": bool(crc_ok),
            "esn0_db": float(info.get("snr_db", float("nan"))),
            "cfo_per_symbol": float(info.get("cfo_per_symbol", float("nan"))),
            "modulation": header.modulation,
            "pmf_id": header.pmf_id,
            "start": int(info.get("start", -1)),
        }
        if self._seed >= 0:
            sent = known_payload(self._seed, header.seq, header.length)
            errors = bit_errors(payload, sent)
            self._bit_errors += errors
            self._bits += 8 * header.length
            meta["bit_errors"] = errors
        self.logger.debug(
            f"burst {header.seq}: crc {'ok' if crc_ok else 'failed'}, "
            f"Es/N0 {meta['esn0_db']:.1f} dB"
        )
        if crc_ok or self._emit_failed:
            vector = pmt.init_u8vector(len(payload), list(payload))
            self.message_port_pub(self._port, pmt.cons(pmt.to_pmt(meta), vector))

    # ----- streaming ----------------------------------------------------------------

    def work(self, input_items, output_items):
        symbols = input_items[0]
        first = self.nitems_read(0)
        starts = {}
        for tag in self.get_tags_in_window(0, 0, symbols.size, BURST_KEY):
            starts[tag.offset] = [pmt.to_python(tag.value), None]
        for tag in self.get_tags_in_window(0, 0, symbols.size, LENGTH_KEY):
            if tag.offset in starts and pmt.is_integer(tag.value):
                starts[tag.offset][1] = pmt.to_long(tag.value)

        pos = 0
        for offset in sorted(starts):
            at = offset - first
            self._take(symbols[pos:at])
            pos = at
            info, n_symbols = starts[offset]
            self._open(info if isinstance(info, dict) else {}, n_symbols)
        self._take(symbols[pos:])
        return symbols.size

    def stop(self):
        """End of stream: a burst still missing symbols is counted as truncated."""
        if self._burst is not None:
            self._truncated += 1
            self.logger.info(
                f"burst {self._burst[0].seq} cut off by the end of the stream"
            )
            self._burst = None
        return True
