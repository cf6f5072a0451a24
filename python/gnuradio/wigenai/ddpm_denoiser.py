"""GNU Radio block: DDPM denoiser in the receive chain (Python, ONNX Runtime)."""

from __future__ import annotations

import threading

import numpy as np
import pmt

from gnuradio import gr
from wigenai.constellation import order_of
from wigenai.ort_sampler import COMBINES, SAMPLERS, OrtDenoiser
from wigenai.paths import default_model
from wigenai.presets import PRESETS, mismatch

from ._inputs import finite_input

ESN0_KEY = pmt.intern("esn0_db")
# Es/N0 taken for a tag of +inf (a noiseless fit): far above any step, so the chain
# starts at step 0, as the library's burst hook does.
NOISELESS_DB = 300.0
# The Python gateway compares work()'s return with 0: it needs the plain int.
WORK_DONE = int(gr.WORK_DONE)


class ddpm_denoiser(gr.sync_block):  # noqa: N801 (GNU Radio block naming)
    """Reconstruct transmitted symbols from received ones with a trained DDPM.

    Input: complex symbols, one per item, at unit average power, after
    synchronization and equalization (the link the model was trained for).
    Output 0: the denoised symbols (the reverse chain's estimate of x0).
    Output 1 (when ``decisions`` is true): bytes, the index of the nearest
    constellation point (its Gray bit label).

    Measured SNR from stream tags: an ``esn0_db`` tag (pmt double, the Es/N0 in dB
    measured on a burst's known symbols, as ``burst_sync`` puts on each burst's first
    data symbol) switches the block to that SNR from the tagged item on: the chain
    starts at the step matched to the measured Es/N0 itself, without the training
    link's distortion added on top (``OrtDenoiser.set_measured_snr_db``), until the
    next tag. ``set_snr_db()`` returns to the configured link SNR. A tag that is not
    a finite number is ignored (logged once); ``+inf`` (a noiseless fit) starts at
    step 0. Tags pass through to the outputs unchanged, so ``burst_decoder`` still
    finds the bursts after this block.

    All items available at a ``work()`` call (cut at ``esn0_db`` tags) go through one
    ONNX Runtime session in batches of ``batch_size``. Non-finite input samples are
    replaced by 0 (counted, logged once). A failure inside the model is logged once
    and ends the flowgraph cleanly (WORK_DONE) instead of raising through the
    scheduler.

    Parameters
    ----------
    modulation : str
        ``qpsk``, ``16qam`` or ``64qam``; selects the shipped model when
        ``model_file`` is empty, and must match the model's constellation.
    model_file : str
        ONNX denoiser; ``""`` for the shipped model of ``modulation``.
    snr_db : float
        Link Es/N0 in dB; sets the diffusion start step until an ``esn0_db`` tag
        arrives. Settable at run time.
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
    link : str
        The link preset the block is used on (``paper``, ``pluto-like``, ``harsh``;
        ``""``: not stated). A model trained for another preset is still run, with
        one warning that says which preset it was trained for.
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
        link="",
    ):
        order = order_of(modulation)
        if link and str(link).lower() not in PRESETS:
            raise ValueError(
                f"link: unknown preset {link!r}, expected one of {list(PRESETS)} "
                "or '' (not stated)"
            )
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
        self._snr_db = float(snr_db)
        self._esn0_db = float("nan")
        self._bad_tags = 0
        self.model_file = path
        self.trained_for = denoiser.preset
        if link:
            why = mismatch(denoiser.contract.training_link, link)
            if why:
                self.logger.warn(f"{path}: {why}")
        self.logger.info(
            f"{path}: {denoiser.contract.variant} denoiser, "
            f"{denoiser.sampler} with {denoiser.calls_per_symbol} network "
            f"calls per symbol at {snr_db} dB"
        )

    # ----- run-time settings ------------------------------------------------------

    def set_snr_db(self, snr_db):
        """Change the link SNR and leave the measured-SNR (tag) mode; raises
        ValueError (naming snr_db) if not finite."""
        with self._lock:
            self._denoiser.set_snr_db(snr_db)
            self._snr_db = float(snr_db)
            self._esn0_db = float("nan")

    def snr_db(self):
        """The configured link Es/N0 in dB."""
        return self._snr_db

    def esn0_db(self):
        """Es/N0 (dB) of the last ``esn0_db`` tag followed; NaN in the configured-SNR
        mode."""
        return self._esn0_db

    def start_step(self):
        """The diffusion step the reverse chain starts at now."""
        return self._denoiser.start_step

    def nonfinite_count(self):
        """Number of NaN or infinite input samples replaced by 0 so far."""
        return self._nonfinite

    def nonfinite_output_count(self):
        """Number of non-finite model estimates replaced by 0 (a broken model)."""
        return self._nonfinite_out

    # ----- streaming --------------------------------------------------------------

    def _segments(self, n):
        """``(lo, hi, esn0_db)`` runs of this work() call: a new run at each valid
        ``esn0_db`` tag (its value), the first run with None (keep the current SNR)."""
        first = self.nitems_read(0)
        cuts = [(0, None)]
        tags = self.get_tags_in_window(0, 0, n, ESN0_KEY)
        for tag in sorted(tags, key=lambda t: t.offset):
            value = self._tag_esn0_db(tag.value)
            if value is not None:
                cuts.append((tag.offset - first, value))
        bounds = [at for at, _ in cuts[1:]] + [n]
        return [(at, hi, value) for (at, value), hi in zip(cuts, bounds, strict=True)]

    def _tag_esn0_db(self, value):
        """The Es/N0 of a tag's value in dB, or None (logged once) when unusable."""
        real = pmt.is_number(value) and not pmt.is_complex(value)
        esn0_db = pmt.to_double(value) if real else float("nan")
        if esn0_db == float("inf"):
            return NOISELESS_DB
        if np.isfinite(esn0_db) and abs(esn0_db) <= 3000.0:
            return esn0_db
        if self._bad_tags == 0:
            self.logger.warn(
                f"ignored an esn0_db tag that is not a finite Es/N0 in dB ({value}); "
                "logged once"
            )
        self._bad_tags += 1
        return None

    def work(self, input_items, output_items):
        y = finite_input(self, input_items[0])
        n = y.size
        try:
            with self._lock:
                x0 = np.empty(n, dtype=np.complex128)
                for lo, hi, esn0_db in self._segments(n):
                    if esn0_db is not None:
                        self._denoiser.set_measured_snr_db(esn0_db)
                        self._esn0_db = esn0_db
                    if hi > lo:
                        x0[lo:hi] = self._denoiser.denoise(y[lo:hi])
                idx = self._denoiser.nearest(x0) if self._decisions else None
        # A model failure is logged and ends the flowgraph; it must not raise through
        # the scheduler.
        except Exception as err:  # noqa: BLE001
            if not self._failed:
                self.logger.error(
                    f"{self.model_file}: inference failed ({err}); stopping the flowgraph"
                )
                self._failed = True
            return WORK_DONE
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
