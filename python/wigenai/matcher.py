"""Constant-composition distribution matching (CCDM) for probabilistic shaping.

A distribution matcher turns uniform bits into symbol indices whose empirical
distribution follows a target pmf, and back. CCDM (Schulte and Boecherer, "Constant
composition distribution matching", IEEE Trans. Inf. Theory, 2016) maps each block of
``k`` bits to one sequence of ``N`` symbols that all share the same composition: symbol
``m`` occurs exactly ``n_m`` times, ``n_m`` being ``N * pmf[m]`` rounded to integers.

This module does the mapping exactly by enumerative coding instead of arithmetic
coding. The ``k`` bits of a block, most significant first, are an integer index in
``0 .. 2**k - 1``, and the codeword is the sequence with that rank among all
permutations of the multiset ``{m: n_m}`` in lexicographic order (symbol 0 smallest).
There are ``multinomial(N; n_0, ..., n_{M-1})`` such sequences and
``k = floor(log2(multinomial))``. The arithmetic-coding CCDM of the paper addresses the
same set of sequences in the same order, so both give the same codewords; here the
arithmetic is on Python integers and has no precision limit.

With ``r`` the counts not yet placed and ``L = sum(r)`` positions left, the number of
sequences that continue with a symbol smaller than ``a`` is ``C(r) * (r_0 + ... +
r_{a-1}) / L``, ``C(r)`` being the multinomial of ``r`` (an integer, and so is that
product). Ranking and unranking therefore cost a few big-integer operations per symbol,
independent of the alphabet size ``M``.
"""

from __future__ import annotations

import logging
import math

import numpy as np

from .metrics import entropy_bits

log = logging.getLogger(__name__)

_PMF_TOLERANCE = 1e-6


def check_pmf(pmf, order: int | None = None) -> np.ndarray:
    """Validate a target pmf and return it renormalised.

    Parameters
    ----------
    pmf : array_like
        Probabilities of the symbol indices ``0 .. M-1``; zeros are allowed.
    order : int, optional
        Required length ``M`` (the constellation order), if given.

    Returns
    -------
    float64 array, shape (M,)
        ``pmf / pmf.sum()``.

    Raises
    ------
    ValueError
        With a message starting ``pmf:`` if ``pmf`` is not a non-empty 1-D array of
        finite, non-negative numbers summing to 1 within 1e-6, or if its length is not
        ``order``.
    """
    try:
        p = np.array(pmf, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"pmf: expected an array of numbers, got {pmf!r}") from None
    if p.ndim != 1 or p.size == 0:
        raise ValueError(f"pmf: expected a non-empty 1-D array, got shape {p.shape}")
    if not np.all(np.isfinite(p)):
        raise ValueError("pmf: entries must be finite")
    if np.any(p < 0):
        bad = int(np.flatnonzero(p < 0)[0])
        raise ValueError(f"pmf: entries must be >= 0, got pmf[{bad}] = {p[bad]!r}")
    total = float(p.sum())
    if abs(total - 1.0) > _PMF_TOLERANCE:
        raise ValueError(
            f"pmf: must sum to 1 (within {_PMF_TOLERANCE}), sums to {total!r}"
        )
    if order is not None and p.size != order:
        raise ValueError(f"pmf: expected {order} entries (the order), got {p.size}")
    return p / total


def _check_block_symbols(block_symbols) -> int:
    ok = isinstance(block_symbols, (int, np.integer)) and not isinstance(
        block_symbols, (bool, np.bool_)
    )
    if not ok or block_symbols < 1:
        raise ValueError(
            f"block_symbols: expected an integer >= 1, got {block_symbols!r}"
        )
    return int(block_symbols)


def composition(pmf, block_symbols: int) -> np.ndarray:
    """Integer symbol counts of a block that approximate ``block_symbols * pmf``.

    Each count starts as ``floor(block_symbols * pmf[m])``; the symbols still missing
    to reach ``block_symbols`` go one each to the largest fractional parts (ties to the
    lower index). A symbol of probability 0 always gets count 0.

    Parameters
    ----------
    pmf : array_like
        Target pmf, checked by :func:`check_pmf`.
    block_symbols : int
        Block length ``N >= 1``.

    Returns
    -------
    int64 array, shape (M,)
        Counts ``n_m >= 0`` with ``sum(n_m) == block_symbols``.

    Raises
    ------
    ValueError
        ``pmf: ...`` for an invalid pmf, ``block_symbols: ...`` if ``block_symbols``
        is not an integer >= 1 (``bool`` is rejected).
    """
    p = check_pmf(pmf)
    n = _check_block_symbols(block_symbols)
    scaled = n * p
    counts = np.floor(scaled).astype(np.int64)
    remainder = n - int(counts.sum())
    if remainder > 0:
        support = np.flatnonzero(p > 0)
        frac = scaled[support] - counts[support]
        order = support[np.argsort(-frac, kind="stable")]
        # remainder <= len(support) up to rounding; wrap round rather than index past it
        for i in range(remainder):
            counts[order[i % order.size]] += 1
    elif remainder < 0:  # only by floating-point rounding: take from the largest count
        for _ in range(-remainder):
            counts[int(np.argmax(counts))] -= 1
    return counts


def _multinomial(counts) -> int:
    """``sum(counts)! / prod(counts[m]!)`` as an exact integer."""
    total = 0
    value = 1
    for c in counts:
        c = int(c)
        total += c
        value *= math.comb(total, c)
    return value


def bits_per_block_for(pmf, block_symbols: int) -> int:
    """Bits ``k`` a CCDM block of ``block_symbols`` symbols carries for ``pmf``.

    Parameters
    ----------
    pmf : array_like
        Target pmf.
    block_symbols : int
        Block length ``N``.

    Returns
    -------
    int
        ``floor(log2(multinomial(N; composition(pmf, N))))``, possibly 0.
    """
    return _multinomial(composition(pmf, block_symbols)).bit_length() - 1


class CcdmMatcher:
    """Constant-composition distribution matcher by exact enumerative coding.

    Parameters
    ----------
    pmf : array_like
        Target pmf over the symbol indices ``0 .. M-1`` (``M >= 2``, zeros allowed).
    block_symbols : int
        Block length ``N`` in symbols (1024 by default).

    Attributes
    ----------
    order : int
        Alphabet size ``M``.
    pmf : float64 array, shape (M,)
        The target pmf, renormalised.
    counts : int64 array, shape (M,)
        The composition ``n_m`` of every codeword (:func:`composition`).
    symbols_per_block : int
        ``N``.
    multinomial : int
        Number of sequences of composition ``counts``.
    bits_per_block : int
        ``k = floor(log2(multinomial))``.
    rate : float
        ``k / N``, information bits per symbol.
    composition_pmf : float64 array, shape (M,)
        ``counts / N``, the distribution the output symbols actually have.
    rate_loss : float
        ``H(composition_pmf) - k / N`` in bits per symbol: the loss relative to the
        entropy of the quantized composition, >= 0, the quantity that vanishes as
        ``N`` grows (Schulte and Boecherer's rate loss).
    rate_loss_target : float
        ``H(pmf) - k / N`` in bits per symbol: the loss relative to the entropy of the
        target pmf itself; it includes the effect of quantizing the pmf to counts and
        can in principle be negative.

    Raises
    ------
    ValueError
        ``pmf: ...`` or ``block_symbols: ...`` for invalid parameters, and
        ``block_symbols: ... carries no bits`` if ``k == 0``.
    """

    def __init__(self, pmf, block_symbols: int = 1024):
        self.pmf = check_pmf(pmf)
        self.order = int(self.pmf.size)
        self.symbols_per_block = _check_block_symbols(block_symbols)
        self.counts = composition(self.pmf, self.symbols_per_block)
        self.multinomial = _multinomial(self.counts)
        self.bits_per_block = self.multinomial.bit_length() - 1
        n = self.symbols_per_block
        if self.bits_per_block == 0:
            raise ValueError(
                f"block_symbols: {n} symbols of composition {self.counts.tolist()} "
                "carries no bits (a single codeword); use a longer block or a pmf "
                "with at least two non-zero entries"
            )
        self.rate = self.bits_per_block / n
        self.composition_pmf = self.counts / n
        self.rate_loss = entropy_bits(self.composition_pmf) - self.rate
        self.rate_loss_target = entropy_bits(self.pmf) - self.rate
        self._counts_list = [int(c) for c in self.counts]
        self._byte_pad = -self.bits_per_block % 8
        self._n_bytes = (self.bits_per_block + self._byte_pad) // 8
        log.debug(
            "CCDM M=%d N=%d k=%d rate=%.4f rate_loss=%.4f bit/symbol",
            self.order,
            n,
            self.bits_per_block,
            self.rate,
            self.rate_loss,
        )

    def __repr__(self) -> str:
        return (
            f"CcdmMatcher(order={self.order}, symbols_per_block={self.symbols_per_block}"
            f", bits_per_block={self.bits_per_block})"
        )

    # -- bits <-> block indices -------------------------------------------------------

    def _bits_to_indices(self, bits: np.ndarray) -> list[int]:
        k = self.bits_per_block
        rows = bits.reshape(-1, k)
        padded = np.zeros((rows.shape[0], k + self._byte_pad), dtype=np.uint8)
        padded[:, self._byte_pad :] = rows
        packed = np.packbits(padded, axis=1)
        return [int.from_bytes(row.tobytes(), "big") for row in packed]

    def _indices_to_bits(self, indices: list[int]) -> np.ndarray:
        nb = self._n_bytes
        raw = b"".join(i.to_bytes(nb, "big") for i in indices)
        packed = np.frombuffer(raw, dtype=np.uint8).reshape(len(indices), nb)
        unpacked = np.unpackbits(packed, axis=1)[:, self._byte_pad :]
        return np.ascontiguousarray(unpacked).reshape(-1)

    # -- ranking and unranking --------------------------------------------------------

    def _unrank(self, index: int) -> list[int]:
        """The sequence of lexicographic rank ``index`` (``0 <= index < multinomial``)."""
        m = self.order
        count = list(self._counts_list)
        # Fenwick tree over the remaining counts, 1-based.
        tree = [0] * (m + 1)
        for a, c in enumerate(count, start=1):
            tree[a] += c
            parent = a + (a & -a)
            if parent <= m:
                tree[parent] += tree[a]
        top = 1 << (m.bit_length() - 1)
        out = []
        c_rem = self.multinomial
        for length in range(self.symbols_per_block, 0, -1):
            q = index * length // c_rem
            # Largest a with prefix(a) <= q, so prefix(a) <= q < prefix(a) + r_a.
            pos = 0
            acc = 0
            step = top
            while step:
                nxt = pos + step
                if nxt <= m and acc + tree[nxt] <= q:
                    pos = nxt
                    acc += tree[nxt]
                step >>= 1
            if acc:
                index -= c_rem * acc // length
            r = count[pos]
            c_rem = c_rem * r // length
            count[pos] = r - 1
            i = pos + 1
            while i <= m:
                tree[i] -= 1
                i += i & -i
            out.append(pos)
        return out

    def _rank(self, block: np.ndarray) -> int:
        """Lexicographic rank of ``block``, whose composition must be ``counts``."""
        n, m = self.symbols_per_block, self.order
        onehot = np.zeros((n, m), dtype=np.int32)
        onehot[np.arange(n), block] = 1
        # remaining[i, a]: occurrences of a at positions i..N-1.
        remaining = np.cumsum(onehot[::-1], axis=0)[::-1]
        below = np.cumsum(remaining, axis=1) - remaining
        rows = np.arange(n)
        prefixes = below[rows, block].tolist()
        r_here = remaining[rows, block].tolist()
        rank = 0
        c_rem = self.multinomial
        for length, p, r in zip(range(n, 0, -1), prefixes, r_here, strict=True):
            if p:
                rank += c_rem * p // length
            c_rem = c_rem * r // length
        return rank

    # -- public interface -------------------------------------------------------------

    def encode(self, bits) -> np.ndarray:
        """Match uniform bits to symbol indices of composition ``counts``.

        Parameters
        ----------
        bits : array_like of 0/1
            Unpacked bits, length a multiple of ``bits_per_block``. Each group of ``k``
            bits, most significant first, is the rank of its codeword.

        Returns
        -------
        int64 array, shape (len(bits) // k * N,)
            ``N`` symbol indices per block of ``k`` bits.

        Raises
        ------
        ValueError
            ``bits: ...`` if the length is not a multiple of ``k`` or a value is not 0
            or 1.
        """
        k = self.bits_per_block
        try:
            b = np.asarray(bits).reshape(-1)
            valid = b.dtype.kind in "biuf" and bool(np.all((b == 0) | (b == 1)))
        except (TypeError, ValueError):
            valid = False
        if not valid:
            raise ValueError("bits: expected an array of 0/1 values")
        if b.size % k:
            raise ValueError(
                f"bits: length {b.size} is not a multiple of bits_per_block = {k}"
            )
        indices = self._bits_to_indices(b.astype(np.uint8))
        out = np.empty(len(indices) * self.symbols_per_block, dtype=np.int64)
        n = self.symbols_per_block
        for j, index in enumerate(indices):
            out[j * n : (j + 1) * n] = self._unrank(index)
        return out

    def decode(self, symbols) -> tuple[np.ndarray, np.ndarray]:
        """Recover the bits of received symbol indices, block by block.

        A block fails if it holds an index outside ``0 .. M-1``, if its composition
        differs from ``counts`` (for instance after a symbol error) or if its rank is
        ``>= 2**k`` (a valid composition no encoder output has). A failed block decodes
        to ``k`` zero bits and its flag is False; the other blocks are unaffected.
        Corrupted data never raises.

        Parameters
        ----------
        symbols : array_like of int
            Symbol indices, length a multiple of ``symbols_per_block``.

        Returns
        -------
        bits : uint8 array, shape (blocks * k,)
            Unpacked bits, most significant first within each block.
        ok : bool array, shape (blocks,)
            True where the block decoded.

        Raises
        ------
        ValueError
            ``symbols: ...`` if the length is not a multiple of ``N`` or the array is
            not numeric.
        """
        n, m, k = self.symbols_per_block, self.order, self.bits_per_block
        try:
            s = np.asarray(symbols).reshape(-1)
        except (TypeError, ValueError):
            raise ValueError("symbols: expected an array of symbol indices") from None
        if s.dtype.kind not in "biuf":
            raise ValueError(f"symbols: expected integer indices, got dtype {s.dtype}")
        if s.size % n:
            raise ValueError(
                f"symbols: length {s.size} is not a multiple of symbols_per_block = {n}"
            )
        blocks = s.reshape(-1, n)
        if s.dtype.kind == "f":
            with np.errstate(invalid="ignore"):
                in_range = np.isfinite(blocks) & (blocks == np.round(blocks))
                in_range &= (blocks >= 0) & (blocks < m)
        else:
            in_range = (blocks >= 0) & (blocks < m)
        blocks = np.where(in_range, blocks, 0).astype(np.int64)
        block_ok = in_range.all(axis=1)
        indices = []
        ok = np.zeros(blocks.shape[0], dtype=bool)
        for j, block in enumerate(blocks):
            index = 0
            composed = np.bincount(block, minlength=m)
            if block_ok[j] and np.array_equal(composed, self.counts):
                rank = self._rank(block)
                if not rank >> k:
                    index = rank
                    ok[j] = True
            indices.append(index)
        failed = int(ok.size - ok.sum())
        if failed:
            log.debug("CCDM decode: %d of %d blocks failed", failed, ok.size)
        return self._indices_to_bits(indices), ok
