"""GNU Radio block: IQ imbalance in the convention of ``wigenai.impairments``."""

from __future__ import annotations

from gnuradio import blocks, channels, gr
from wigenai.impairments import IQImbalance


class iq_imbalance(gr.hier_block2):  # noqa: N801 (GNU Radio block naming)
    """Gain and phase mismatch of the I and Q branches, with GNU Radio's own block.

    ``wigenai.impairments.IQImbalance`` puts the error on the Q branch (transmit:
    ``y_I = x_I - g sin(phi) x_Q``, ``y_Q = g cos(phi) x_Q``; receive: ``y_I = x_I``,
    ``y_Q = g (cos(phi) x_Q - sin(phi) x_I)``, ``g = 10^(amplitude_db / 20)``);
    ``channels.iqbal_gen`` puts it on the I branch. Swapping I and Q on both sides
    (``z -> j conj(z)``) and negating the phase maps one onto the other, so this
    block is ``iqbal_gen`` between two swaps; a test proves it equal to the library.

    Parameters
    ----------
    amplitude_db : float
        Gain of the Q branch relative to I, dB.
    phase_deg : float
        Skew of the Q branch from quadrature, degrees; ``|phase_deg| < 90``.
    side : str
        ``tx`` (modulator) or ``rx`` (demodulator).
    """

    def __init__(self, amplitude_db=1.0, phase_deg=5.0, side="rx"):
        IQImbalance(amplitude_db, phase_deg, side)  # validates, naming the parameter
        gr.hier_block2.__init__(
            self,
            "iq_imbalance",
            gr.io_signature(1, 1, gr.sizeof_gr_complex),
            gr.io_signature(1, 1, gr.sizeof_gr_complex),
        )
        mode = 0 if side == "tx" else 1
        self.swap_in = (blocks.conjugate_cc(), blocks.multiply_const_cc(1j))
        self.iqbal = channels.iqbal_gen(float(amplitude_db), -float(phase_deg), mode)
        self.swap_out = (blocks.conjugate_cc(), blocks.multiply_const_cc(1j))
        self.connect(self, *self.swap_in, self.iqbal, *self.swap_out, self)
