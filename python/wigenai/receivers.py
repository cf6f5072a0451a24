"""Symbol receivers compared by ``wigenai ber``: one interface for every detector.

A receiver knows which points its transmitter sends (``points``, unit average energy,
``points[s]`` for message ``s``) and decides message indices from received samples.
``decide`` gets the samples ``y``, the known channel gains ``h`` and the
:class:`~wigenai.channel.ImpairedChannel` that produced them; only the genie MAP
detector may look at the channel's true law.
"""

from __future__ import annotations

import numpy as np
from scipy.special import logsumexp

from .channel import ImpairedChannel
from .constellation import Constellation


class Receiver:
    """Base class: a named transmit constellation plus a decision rule."""

    name = "receiver"

    def __init__(self, points: np.ndarray, bits_per_symbol: int):
        self.points = np.asarray(points, dtype=np.complex128)
        self.bits_per_symbol = int(bits_per_symbol)

    def decide(
        self, y: np.ndarray, h: np.ndarray, channel: ImpairedChannel
    ) -> np.ndarray:
        raise NotImplementedError


class NearestReceiver(Receiver):
    """Nearest neighbour on the nominal constellation scaled by the known gain."""

    name = "nearest"

    def __init__(self, constellation: Constellation):
        super().__init__(constellation.points, constellation.bits_per_symbol)
        self.constellation = constellation

    def decide(self, y, h, channel):
        return self.constellation.nearest(y, h)


class MapReceiver(Receiver):
    """Genie MAP symbol detector: the true link law (distortion, noise, quantizers).

    Cost: one likelihood per symbol and candidate point, ``O(N M)``, computed in
    chunks so that memory stays bounded.
    """

    name = "map"

    def __init__(
        self,
        constellation: Constellation,
        pmf: np.ndarray | None = None,
        chunk: int = 1 << 16,
    ):
        super().__init__(constellation.points, constellation.bits_per_symbol)
        prior = (
            np.full(constellation.order, 1.0 / constellation.order)
            if pmf is None
            else np.asarray(pmf, dtype=float)
        )
        with np.errstate(divide="ignore"):
            self.log_prior = np.log(prior)
        self.chunk = int(chunk)

    def decide(self, y, h, channel):
        y = np.asarray(y).reshape(-1)
        h = np.asarray(h).reshape(-1)
        out = np.empty(y.size, dtype=np.int64)
        for start in range(0, y.size, self.chunk):
            sl = slice(start, start + self.chunk)
            ll = channel.log_likelihoods(y[sl], self.points, h[sl])
            out[sl] = np.argmax(ll + self.log_prior, axis=1)
        return out


class BitMapReceiver(MapReceiver):
    """Genie bitwise MAP detector: each bit decided on its own posterior.

    The symbol MAP detector minimises the symbol error rate; the bit error rate is
    minimised by deciding every bit ``b`` on ``P(b | y)``, the sum of the posterior
    over the points whose label has that bit. For QPSK with Gray labels on a link that
    treats I and Q alike the two rules coincide; for 16-QAM at low SNR they do not,
    and this one is the lower bound of the uncoded BER that any receiver can reach.
    The decided index is the label made of the decided bits.
    """

    name = "map-bit"

    def __init__(self, constellation: Constellation, pmf=None, chunk: int = 1 << 16):
        super().__init__(constellation, pmf, chunk)
        labels = np.arange(constellation.order)
        shifts = np.arange(constellation.bits_per_symbol - 1, -1, -1)
        # (bits, order): whether bit k (MSB first) of each point's label is one
        self.has_one = ((labels[None, :] >> shifts[:, None]) & 1).astype(bool)
        self.weights = 1 << shifts

    def decide(self, y, h, channel):
        y = np.asarray(y).reshape(-1)
        h = np.asarray(h).reshape(-1)
        out = np.empty(y.size, dtype=np.int64)
        for start in range(0, y.size, self.chunk):
            sl = slice(start, start + self.chunk)
            lp = channel.log_likelihoods(y[sl], self.points, h[sl]) + self.log_prior
            bits = np.empty((lp.shape[0], self.weights.size), dtype=np.int64)
            for k, ones in enumerate(self.has_one):
                one = logsumexp(lp[:, ones], axis=1)
                zero = logsumexp(lp[:, ~ones], axis=1)
                bits[:, k] = one > zero
            out[sl] = bits @ self.weights
        return out
