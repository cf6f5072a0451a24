"""Constant-composition distribution matcher: enumerative coding, rates, failures."""

import itertools
import math

import numpy as np
import pytest

from wigenai.matcher import CcdmMatcher, bits_per_block_for, check_pmf, composition


def _mb_pmf(order, lam=0.1):
    """Maxwell-Boltzmann-like pmf exp(-lam |x|^2) over the integer square QAM grid."""
    side = math.isqrt(order)
    levels = np.arange(-(side - 1), side, 2)
    x = (levels[:, None] + 1j * levels[None, :]).reshape(-1)
    p = np.exp(-lam * np.abs(x) ** 2)
    return p / p.sum()


def _bits_of(value, k):
    return np.array([(value >> (k - 1 - i)) & 1 for i in range(k)], dtype=np.uint8)


@pytest.mark.parametrize(
    "pmf,order,match",
    [
        ([0.5, 0.6, -0.1], None, ">= 0"),
        ([0.3, 0.3, 0.3], None, "sum to 1"),
        ([0.5, np.nan, 0.5], None, "finite"),
        ([0.25, 0.25, 0.25, 0.25], 16, "16 entries"),
        ([[0.5, 0.5]], None, "1-D"),
    ],
)
def test_check_pmf_errors_name_the_parameter(pmf, order, match):
    with pytest.raises(ValueError, match=f"^pmf: .*{match}"):
        check_pmf(pmf, order)


def test_check_pmf_renormalises():
    p = check_pmf([0.2, 0.3, 0.5 + 5e-7], order=3)
    assert p.dtype == np.float64
    assert abs(p.sum() - 1.0) < 1e-15


@pytest.mark.parametrize("n", [1, 7, 64, 1000, 4096])
def test_composition_sums_to_n_and_respects_zeros(n):
    pmf = np.array([0.3, 0.0, 0.25, 0.125, 0.0, 0.325])
    counts = composition(pmf, n)
    assert counts.dtype == np.int64
    assert counts.sum() == n
    assert np.all(counts[pmf == 0] == 0)
    assert np.all(np.abs(counts - n * pmf) < 1)


def test_composition_hands_remainder_to_largest_fractions():
    # 10 * pmf = [3.3, 3.6, 3.1]: floors sum to 9, the one left goes to 3.6.
    assert composition([0.33, 0.36, 0.31], 10).tolist() == [3, 4, 3]


@pytest.mark.parametrize("bad", [0, -3, 2.5, True, "8", None])
def test_block_symbols_errors(bad):
    with pytest.raises(ValueError, match="^block_symbols: "):
        composition([0.5, 0.5], bad)
    with pytest.raises(ValueError, match="^block_symbols: "):
        CcdmMatcher([0.5, 0.5], bad)


def test_a_block_without_bits_is_rejected():
    with pytest.raises(ValueError, match="^block_symbols: .*carries no bits"):
        CcdmMatcher([1.0, 0.0, 0.0, 0.0], 16)
    with pytest.raises(ValueError, match="^block_symbols: .*carries no bits"):
        CcdmMatcher([0.5, 0.5], 1)


def test_hand_checked_binary_case():
    m = CcdmMatcher([0.5, 0.5], 4)
    assert m.order == 2 and m.symbols_per_block == 4
    assert m.counts.tolist() == [2, 2]
    assert m.multinomial == 6
    assert m.bits_per_block == 2 == bits_per_block_for([0.5, 0.5], 4)
    assert m.rate == 0.5
    assert m.composition_pmf.tolist() == [0.5, 0.5]
    assert m.rate_loss == pytest.approx(0.5)
    assert m.rate_loss_target == pytest.approx(0.5)
    symbols = m.encode([0, 0, 0, 1, 1, 0, 1, 1])
    assert symbols.dtype == np.int64
    words = ["".join(map(str, w)) for w in symbols.reshape(-1, 4).tolist()]
    assert words == ["0011", "0101", "0110", "1001"]
    bits, ok = m.decode(symbols)
    assert bits.dtype == np.uint8 and ok.dtype == bool
    assert bits.tolist() == [0, 0, 0, 1, 1, 0, 1, 1]
    assert ok.tolist() == [True] * 4
    # 1010 and 1100 have ranks 4 and 5 >= 2**k: valid composition, but no codeword.
    bits, ok = m.decode([1, 0, 1, 0, 0, 1, 1, 0, 1, 1, 0, 0])
    assert ok.tolist() == [False, True, False]
    assert bits.tolist() == [0, 0, 1, 0, 0, 0]


def test_ranks_are_lexicographic_with_a_zero_probability_symbol():
    m = CcdmMatcher([0.4, 0.2, 0.0, 0.4], 5)
    assert m.counts.tolist() == [2, 1, 0, 2]
    perms = sorted(set(itertools.permutations([0, 0, 1, 3, 3])))
    assert m.multinomial == len(perms) == 30
    k = m.bits_per_block
    assert k == 4
    all_bits = np.concatenate([_bits_of(i, k) for i in range(2**k)])
    codewords = m.encode(all_bits).reshape(-1, 5)
    assert [tuple(w) for w in codewords.tolist()] == perms[: 2**k]
    bits, ok = m.decode(np.array(perms).reshape(-1))
    assert ok.tolist() == [i < 2**k for i in range(len(perms))]
    expected = [_bits_of(i if i < 2**k else 0, k) for i in range(len(perms))]
    assert np.array_equal(bits, np.concatenate(expected))


def test_round_trip_of_a_million_bits_16_points():
    m = CcdmMatcher(_mb_pmf(16), 1024)
    k, n = m.bits_per_block, m.symbols_per_block
    blocks = -(-1_000_000 // k)
    bits = np.random.default_rng(7).integers(0, 2, blocks * k).astype(np.uint8)
    symbols = m.encode(bits)
    assert symbols.shape == (blocks * n,)
    freq = np.bincount(symbols, minlength=16)
    assert np.array_equal(freq, blocks * m.counts)
    assert np.array_equal(freq / (blocks * n), m.composition_pmf)
    decoded, ok = m.decode(symbols)
    assert ok.all() and ok.shape == (blocks,)
    assert np.array_equal(decoded, bits)


def test_round_trip_64_points_with_empty_symbols():
    m = CcdmMatcher(_mb_pmf(64), 256)
    assert np.any(m.counts == 0)
    bits = np.random.default_rng(3).integers(0, 2, 5 * m.bits_per_block)
    symbols = m.encode(bits)
    assert np.all(
        np.isin(
            np.flatnonzero(np.bincount(symbols, minlength=64)), np.flatnonzero(m.counts)
        )
    )
    decoded, ok = m.decode(symbols)
    assert ok.all()
    assert np.array_equal(decoded, bits)


def test_rate_loss_is_small_positive_and_shrinks_with_n():
    pmf = _mb_pmf(16)
    losses = []
    for n in (64, 256, 1024):
        m = CcdmMatcher(pmf, n)
        # Independent check of k through log-gamma (exact k lies within rounding).
        log2_multi = (
            math.lgamma(n + 1) - sum(math.lgamma(int(c) + 1) for c in m.counts)
        ) / math.log(2)
        assert abs(m.bits_per_block - math.floor(log2_multi)) <= 1
        h = -sum(q * math.log2(q) for q in m.composition_pmf if q > 0)
        assert m.rate_loss == pytest.approx(h - m.bits_per_block / n)
        assert m.rate == m.bits_per_block / n
        losses.append(m.rate_loss)
    assert all(loss > 0 for loss in losses)
    assert losses[0] > losses[1] > losses[2]
    # About (M - 1) log2(N) / (2 N) for CCDM: 0.06 bit/symbol here.
    assert losses[2] < 0.07


def _four_blocks():
    m = CcdmMatcher(_mb_pmf(16), 64)
    bits = np.random.default_rng(11).integers(0, 2, 4 * m.bits_per_block).astype(np.uint8)
    return m, bits, m.encode(bits)


def test_a_symbol_error_fails_only_its_block():
    m, bits, symbols = _four_blocks()
    n, k = m.symbols_per_block, m.bits_per_block
    corrupted = symbols.copy()
    corrupted[n + 5] = (corrupted[n + 5] + 1) % 16
    decoded, ok = m.decode(corrupted)
    assert ok.tolist() == [True, False, True, True]
    rows, sent = decoded.reshape(4, k), bits.reshape(4, k)
    assert np.array_equal(rows[[0, 2, 3]], sent[[0, 2, 3]])
    assert not rows[1].any()


@pytest.mark.parametrize("bad", [16, -1, 2**40])
def test_an_out_of_range_index_fails_only_its_block(bad):
    m, bits, symbols = _four_blocks()
    n, k = m.symbols_per_block, m.bits_per_block
    corrupted = symbols.copy()
    corrupted[2 * n + 9] = bad
    decoded, ok = m.decode(corrupted)
    assert ok.tolist() == [True, True, False, True]
    rows, sent = decoded.reshape(4, k), bits.reshape(4, k)
    assert np.array_equal(rows[[0, 1, 3]], sent[[0, 1, 3]])
    assert not rows[2].any()


def test_float_symbols_with_garbage_fail_their_block():
    m, bits, symbols = _four_blocks()
    corrupted = symbols.astype(float)
    corrupted[3] = np.nan
    corrupted[m.symbols_per_block + 2] += 0.5
    _, ok = m.decode(corrupted)
    assert ok.tolist() == [False, False, True, True]
    decoded, ok = m.decode(symbols.astype(float))
    assert ok.all() and np.array_equal(decoded, bits)


def test_encode_rejects_bad_bits():
    m = CcdmMatcher(_mb_pmf(16), 64)
    k = m.bits_per_block
    with pytest.raises(ValueError, match="^bits: .*multiple"):
        m.encode(np.zeros(k + 1, dtype=np.uint8))
    bits = np.zeros(k, dtype=np.uint8)
    bits[3] = 2
    with pytest.raises(ValueError, match="^bits: "):
        m.encode(bits)
    assert m.encode(np.zeros(0, dtype=np.uint8)).shape == (0,)


def test_decode_rejects_a_length_not_a_multiple_of_n():
    m = CcdmMatcher(_mb_pmf(16), 64)
    with pytest.raises(ValueError, match="^symbols: .*multiple"):
        m.decode(np.zeros(65, dtype=np.int64))
    bits, ok = m.decode(np.zeros(0, dtype=np.int64))
    assert bits.shape == (0,) and ok.shape == (0,)
