"""BER sweeps: every receiver on the same symbols and the same channel draws."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import numpy as np
from tqdm import tqdm

from .channel import ImpairedChannel
from .metrics import error_stderr
from .receivers import Receiver

log = logging.getLogger(__name__)


@dataclass
class BerRecord:
    """One point of a BER curve (the JSON record of ``wigenai ber``)."""

    snr_db: float
    method: str
    noise: str
    ber: float
    bits: int
    ser: float
    symbols: int
    decide_s: float = 0.0

    @property
    def stderr(self) -> float:
        return error_stderr(self.ber, self.bits)

    def as_json(self) -> dict:
        return {
            "snr_db": self.snr_db,
            "method": self.method,
            "noise": self.noise,
            "ber": self.ber,
            "bits": self.bits,
            "ser": self.ser,
            "symbols": self.symbols,
            "decide_s": round(self.decide_s, 4),
        }


def _channel(link, snr_db: float, seed):
    """A seeded channel at ``snr_db``: an ``ImpairedChannel`` for ``LinkParams``, or a
    fresh copy of any link that can ``spawn(seed)`` itself (the structured links of
    :mod:`wigenai.impairments`)."""
    if hasattr(link, "spawn"):
        channel = link.spawn(seed)
        channel.set_snr_db(float(snr_db))
        return channel
    return ImpairedChannel(link.replace(snr_db=float(snr_db)), seed=seed)


def run_sweep(
    link,
    snrs_db,
    receivers: list[Receiver],
    n_symbols: int,
    seed: int = 0,
    chunk: int = 100_000,
    progress: bool = True,
) -> list[BerRecord]:
    """Measure BER and SER of each receiver at each SNR.

    At a given SNR every receiver sees the same message indices and the same channel
    draws (distortion and noise): the channel is reseeded identically for each one,
    so differences between receivers are not Monte Carlo noise of the channel.
    ``link``: :class:`~wigenai.channel.LinkParams`, or a link with ``spawn(seed)``
    and ``set_snr_db`` such as :class:`~wigenai.impairments.StructuredLink`.
    """
    if n_symbols < 1:
        raise ValueError(f"symbols: must be >= 1, got {n_symbols}")
    records = []
    total = len(snrs_db) * len(receivers)
    bar = tqdm(total=total, desc="ber", unit="point", disable=not progress, leave=False)
    for k, snr_db in enumerate(snrs_db):
        for rx in receivers:
            rng = np.random.default_rng([seed, k])
            channel = _channel(link, snr_db, [seed, k, 1])
            bit_err = sym_err = 0
            busy = 0.0
            for start in range(0, n_symbols, chunk):
                n = min(chunk, n_symbols - start)
                sent = rng.integers(0, len(rx.points), n)
                y, h = channel.transmit(rx.points[sent])
                tic = time.perf_counter()
                decided = np.asarray(rx.decide(y, h, channel))
                busy += time.perf_counter() - tic
                diff = np.bitwise_xor(sent, decided)
                bit_err += int(
                    sum(((diff >> b) & 1).sum() for b in range(rx.bits_per_symbol))
                )
                sym_err += int(np.count_nonzero(diff))
            bits = n_symbols * rx.bits_per_symbol
            records.append(
                BerRecord(
                    float(snr_db),
                    rx.name,
                    channel.params.noise,
                    bit_err / bits,
                    bits,
                    sym_err / n_symbols,
                    n_symbols,
                    busy,
                )
            )
            bar.update()
    bar.close()
    return records
