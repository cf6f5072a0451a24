"""GNU Radio block: DDPM denoiser in the receive chain (Python, ONNX Runtime)."""

from __future__ import annotations

import threading

import numpy as np

from gnuradio import gr
from wigenai.constellation import order_of
from wigenai.ort_sampler import COMBINES, SAMPLERS, OrtDenoiser
from wigenai.paths import default_model


class ddpm_denoiser(gr.sync_block):  # noqa: N801 (GNU Radio block naming)
    """Reconstruct transmitted symbols from received ones with a trained DDPM.

    Input: complex symbols, one per item, at unit average power, after
    synchronization and equalization (the link the model was trained for).
    Output 0: the denoised symbols (the reverse chain's estimate of x0).
    Output 1 (when ``decisions`` is true): bytes, the index of the nearest
    constellation point (its Gray bit label).

    All items available at a ``work()`` call go through one ONNX Runtime session in
    batches of ``batch_size``. Non-finite input samples are replaced by 0 (counted,
    logged once). A failure inside the model is logged once and ends the flowgraph
    cleanly (WORK_DONE) instead of raising through the scheduler.

    Parameters
    ----------
    modulation : str
        ``qpsk``, ``16qam`` or ``64qam``; selects the shipped model when
        ``model_file`` is empty, and must match the model's constellation.
    model_file : str
        ONNX denoiser; ``""`` for the shipped model of ``modulation``.
    snr_db : float
        Link Es/N0 in dB; sets the diffusion start step. Settable at run time.
    sampler : str
        ``ddim`` (deterministic, default) or ``ddpm`` (ancestral).
    steps : int
        DDIM network calls per symbol, 1..T.
    runs : int
        Ancestral runs per symbol (``ddpm`` only), >= 1.
    combine : str
        ``mean`` or ``vote``: how ancestral runs are combined.
    batch_size : int
        Symbols per network call, >= 1.
    threads : int
        ONNX Runtime intra-op threads, >= 1.
    decisions : bool
        Add the byte output of hard decisions.
    """

    def __init__(
        self,
        modulation="qpsk",
        model_file="",
        snr_db=-5.0,
        sampler="ddim",
        steps=2,
        runs=1,
        combine="mean",
        batch_size=8192,
        threads=2,
        decisions=False,
    ):
        order = order_of(modulation)
        path = (
            str(model_file) if model_file else str(default_model("denoiser", modulation))
        )
        if str(sampler).lower() not in SAMPLERS:
            raise ValueError(f"sampler: unknown {sampler!r}, expected one of {SAMPLERS}")
        if str(combine).lower() not in COMBINES:
            raise ValueError(f"combine: unknown {combine!r}, expected one of {COMBINES}")
        denoiser = OrtDenoiser(
            path,
            snr_db,
            sampler=sampler,
            steps=steps,
            runs=runs,
            combine=combine,
            batch_size=batch_size,
            threads=threads,
        )
        if denoiser.points.size != order:
            raise ValueError(
                f"{path}: contract field 'constellation' has "
                f"{denoiser.points.size} points, the block is set to "
                f"{modulation} ({order} points)"
            )

        outputs = [np.complex64, np.uint8] if decisions else [np.complex64]
        gr.sync_block.__init__(
            self, name="ddpm_denoiser", in_sig=[np.complex64], out_sig=outputs
        )
        self._denoiser = denoiser
        self._lock = threading.Lock()
        self._decisions = bool(decisions)
        self._nonfinite = 0
        self._nonfinite_out = 0
        self._failed = False
        self.model_file = path
        self.logger.info(
            f"{path}: {denoiser.contract.variant} denoiser, "
            f"{denoiser.sampler} with {denoiser.calls_per_symbol} network "
            f"calls per symbol at {snr_db} dB"
        )

    # ----- run-time settings ------------------------------------------------------

    def set_snr_db(self, snr_db):
        """Change the link SNR; raises ValueError (naming snr_db) if not finite."""
        with self._lock:
            self._denoiser.set_snr_db(snr_db)

    def snr_db(self):
        return self._denoiser.link.snr_db

    def nonfinite_count(self):
        """Number of NaN or infinite input samples replaced by 0 so far."""
        return self._nonfinite

    def nonfinite_output_count(self):
        """Number of non-finite model estimates replaced by 0 (a broken model)."""
        return self._nonfinite_out

    # ----- streaming --------------------------------------------------------------

    def work(self, input_items, output_items):
        y = np.asarray(input_items[0], dtype=np.complex128)
        n = y.size
        bad = ~np.isfinite(y)
        if bad.any():
            if self._nonfinite == 0:
                self.logger.warn(
                    "non-finite input samples replaced by 0 (counted in "
                    "nonfinite_count(); logged once)"
                )
            self._nonfinite += int(bad.sum())
            y = np.where(bad, 0.0, y)
        try:
            with self._lock:
                x0 = self._denoiser.denoise(y)
                idx = self._denoiser.nearest(x0) if self._decisions else None
        # A model failure is logged and ends the flowgraph; it must not raise through
        # the scheduler.
        except Exception as err:  # noqa: BLE001
            if not self._failed:
                self.logger.error(
                    f"{self.model_file}: inference failed ({err}); stopping the flowgraph"
                )
                self._failed = True
            return gr.WORK_DONE
        bad_out = ~np.isfinite(x0)
        if bad_out.any():
            if self._nonfinite_out == 0:
                self.logger.error(
                    f"{self.model_file}: the model gave non-finite estimates; they are "
                    "replaced by 0 (counted in nonfinite_output_count(); logged once)"
                )
            self._nonfinite_out += int(bad_out.sum())
            x0 = np.where(bad_out, 0.0, x0)
        output_items[0][:n] = x0
        if self._decisions:
            output_items[1][:n] = idx
        return n
