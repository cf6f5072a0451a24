"""What the Python blocks do with non-finite input samples (one rule for all)."""

from __future__ import annotations

import numpy as np


def finite_input(block, items, what: str = "samples") -> np.ndarray:
    """``items`` as complex128 with NaN and infinite entries replaced by 0.

    Counts them in ``block._nonfinite`` (the block's ``nonfinite_count()``) and logs
    one warning through the block's logger the first time.
    """
    x = np.asarray(items, dtype=np.complex128)
    bad = ~np.isfinite(x)
    if not bad.any():
        return x
    if block._nonfinite == 0:
        block.logger.warn(
            f"non-finite input {what} replaced by 0 (counted in nonfinite_count(); "
            "logged once)"
        )
    block._nonfinite += int(bad.sum())
    return np.where(bad, 0.0, x)
