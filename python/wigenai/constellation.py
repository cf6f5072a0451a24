"""Gray-mapped square QAM constellations with unit average symbol energy.

The bit labels follow the usual binary-reflected Gray code per dimension, so that the
same points and symbol map can be handed to GNU Radio's ``digital.constellation_rect``
and ``digital.chunks_to_symbols_bc`` in a flowgraph.
"""

from __future__ import annotations

import numpy as np

MODULATIONS = {"qpsk": 4, "16qam": 16, "64qam": 64}


def order_of(modulation: str) -> int:
    """Number of points of a named modulation (``qpsk``, ``16qam``, ``64qam``)."""
    try:
        return MODULATIONS[str(modulation).lower()]
    except KeyError:
        raise ValueError(
            f"modulation: unknown {modulation!r}, expected one of {sorted(MODULATIONS)}"
        ) from None


def check_square_order(order: int) -> int:
    """Return ``order`` if it is a square QAM order 4, 16, 64, 256..., else raise."""
    side = int(round(np.sqrt(order))) if order > 0 else 0
    if order < 4 or side * side != order or side & (side - 1):
        raise ValueError(f"order: {order} is not a square QAM order (4, 16, 64, ...)")
    return int(order)


def _gray(n: int) -> np.ndarray:
    k = np.arange(n)
    return k ^ (k >> 1)


class Constellation:
    """A square QAM constellation.

    Parameters
    ----------
    order : int
        Number of points M (4, 16, 64, ...).

    Attributes
    ----------
    points : complex128 array, shape (M,)
        ``points[s]`` is the symbol of index ``s``; its ``bits_per_symbol`` bits
        are the binary digits of ``s``, most significant first.
    levels : float array, shape (sqrt(M),)
        The amplitudes used on each real dimension, ascending.
    """

    def __init__(self, order: int):
        self.order = check_square_order(order)
        self.side = int(round(np.sqrt(self.order)))
        self.bits_per_symbol = int(np.log2(self.order))
        half = self.bits_per_symbol // 2
        amplitudes = 2.0 * np.arange(self.side) - (self.side - 1)
        scale = np.sqrt(2.0 * np.mean(amplitudes**2))
        self.levels = amplitudes / scale

        # Symbol index = (Gray label of I level) << half | (Gray label of Q level).
        gray = _gray(self.side)
        level_of_label = np.empty(self.side, dtype=int)
        level_of_label[gray] = np.arange(self.side)
        idx = np.arange(self.order)
        i_level = level_of_label[idx >> half]
        q_level = level_of_label[idx & (self.side - 1)]
        self.points = self.levels[i_level] + 1j * self.levels[q_level]

    @classmethod
    def named(cls, modulation: str) -> Constellation:
        """Constellation for ``qpsk``, ``16qam`` or ``64qam``."""
        return cls(order_of(modulation))

    @property
    def name(self) -> str:
        return "qpsk" if self.order == 4 else f"{self.order}qam"

    def map(self, symbols: np.ndarray) -> np.ndarray:
        """Symbol indices to complex points."""
        return self.points[np.asarray(symbols, dtype=np.int64)]

    def bits_to_symbols(self, bits: np.ndarray) -> np.ndarray:
        """Unpacked bits (MSB first, length a multiple of bits per symbol) to indices."""
        bits = np.asarray(bits, dtype=np.int64).reshape(-1, self.bits_per_symbol)
        weights = 1 << np.arange(self.bits_per_symbol - 1, -1, -1)
        return bits @ weights

    def symbols_to_bits(self, symbols: np.ndarray) -> np.ndarray:
        """Indices to unpacked bits, MSB first, shape (N * bits_per_symbol,)."""
        symbols = np.asarray(symbols, dtype=np.int64)
        shifts = np.arange(self.bits_per_symbol - 1, -1, -1)
        return ((symbols[:, None] >> shifts) & 1).astype(np.uint8).reshape(-1)

    def bit_errors(self, sent: np.ndarray, decided: np.ndarray) -> int:
        """Number of differing bits between two index arrays."""
        diff = np.bitwise_xor(np.asarray(sent, np.int64), np.asarray(decided, np.int64))
        return int(sum(((diff >> b) & 1).sum() for b in range(self.bits_per_symbol)))

    def nearest(self, y: np.ndarray, gain: np.ndarray | complex = 1.0) -> np.ndarray:
        """Nearest-neighbour decisions on ``gain * points`` (per-dimension slicing)."""
        z = np.asarray(y) / gain
        half = self.bits_per_symbol // 2
        edges = (self.levels[1:] + self.levels[:-1]) / 2
        gray = _gray(self.side)
        i_lab = gray[np.searchsorted(edges, z.real)]
        q_lab = gray[np.searchsorted(edges, z.imag)]
        return (i_lab << half) | q_lab
