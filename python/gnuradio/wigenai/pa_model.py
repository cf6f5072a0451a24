"""GNU Radio block: a memoryless power amplifier (Rapp or Saleh) at an input back-off."""

from __future__ import annotations

import numpy as np

from gnuradio import gr
from wigenai.constellation import Constellation
from wigenai.impairments import RappPA, SalehPA

from ._inputs import finite_input

MODELS = ("rapp", "saleh")


class pa_model(gr.sync_block):  # noqa: N801 (GNU Radio block naming)
    """Amplifier compression on a symbol stream (``wigenai.impairments``).

    ``rapp``: AM/AM ``F(r) = r / (1 + (r / a_sat)^(2p))^(1/(2p))``. ``saleh``: AM/AM
    ``alpha_a r / (1 + beta_a r^2)`` and AM/PM ``alpha_phi r^2 / (1 + beta_phi r^2)``.
    The input is scaled so that the rms of the nominal ``modulation`` points is
    ``backoff_db`` below the saturation amplitude, the output back to unit average
    power over those points (fixed gains, computed once). GNU Radio has no amplifier
    model; the other impairments are GNU Radio blocks already (``channels.iqbal_gen``
    through ``wigenai.iq_imbalance``, ``blocks.add_const_cc`` for a DC offset,
    ``blocks.rotator_cc`` for a carrier offset residue; the QA proves them equal to
    the library's stages).

    Parameters
    ----------
    model : str
        ``rapp`` or ``saleh``.
    backoff_db : float
        Input back-off, dB; one that drives even the weakest point to saturation is
        refused (naming ``backoff_db``).
    modulation : str
        ``qpsk``, ``16qam`` or ``64qam``: the nominal points the gains are set on.
    smoothness, a_sat : float
        Rapp's ``p`` and saturation amplitude.
    alpha_a, beta_a, alpha_phi, beta_phi : float
        Saleh's coefficients (default: Saleh's 1981 travelling-wave tube).
    """

    def __init__(
        self,
        model="rapp",
        backoff_db=1.0,
        modulation="16qam",
        smoothness=2.0,
        a_sat=1.0,
        alpha_a=2.1587,
        beta_a=1.1517,
        alpha_phi=4.0033,
        beta_phi=9.1040,
    ):
        if model not in MODELS:
            raise ValueError(f"model: expected one of {MODELS}, got {model!r}")
        if model == "rapp":
            stage = RappPA(backoff_db, smoothness, a_sat)
        else:
            stage = SalehPA(backoff_db, alpha_a, beta_a, alpha_phi, beta_phi)
        self._stage = stage.calibrate(Constellation.named(modulation).points)
        gr.sync_block.__init__(
            self, name="pa_model", in_sig=[np.complex64], out_sig=[np.complex64]
        )
        self._nonfinite = 0

    def nonfinite_count(self):
        """Number of non-finite input samples replaced by 0 so far."""
        return self._nonfinite

    def work(self, input_items, output_items):
        x = finite_input(self, input_items[0])
        output_items[0][: x.size] = self._stage.apply(x)
        return x.size
