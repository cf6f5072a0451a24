"""GNU Radio block: record complex samples and burst annotations as SigMF."""

from __future__ import annotations

import threading

import numpy as np
import pmt

from gnuradio import gr
from wigenai.sigmf_io import SigmfWriter, check_writer_path, writer_global

ANNOTATIONS_PORT = "annotations"
# The Python gateway passes work()'s return on as an int.
WORK_DONE = int(gr.WORK_DONE)


class sigmf_sink(gr.hier_block2):  # noqa: N801 (GNU Radio block naming)
    """Write the input samples to a SigMF recording, with annotations from messages.

    Input: complex samples (one stream). Message input ``annotations``: dicts (PMT
    dicts, as ``pmt.to_pmt`` makes of a Python dict) with ``start`` and ``length`` in
    input samples, ``label``, ``comment`` and any other fields, the shape of
    ``BurstResult.to_annotation()`` that ``burst_sync`` publishes on its ``bursts``
    port; the other fields are stored as ``wigenai:<field>``.

    The files ``BASE.sigmf-data`` and ``BASE.sigmf-meta`` are created when the block
    is built (an existing recording of that name is replaced; a flowgraph started
    again after a stop starts a new one) and the metadata is completed, with the
    annotations and the SHA-512 of the data, when the flowgraph stops. The file work
    is :class:`wigenai.sigmf_io.SigmfWriter`'s.

    The block is a hierarchical block of two parts sharing one writer: the samples
    part ends with its input stream, the annotations part when its message publisher
    (``burst_sync``) has finished. GNU Radio ends a stream block as soon as its input
    is exhausted, and drops the messages that reach it later; the receiver, slower
    than the recorder, publishes the last bursts after that. The recording is closed
    when both parts have stopped (only the samples part runs when nothing is
    connected to ``annotations``). With several publishers the annotations part ends
    with the first one that finishes, as GNU Radio's message blocks do.

    Parameters
    ----------
    base_path : str
        ``BASE``, or ``BASE.sigmf-meta``; its folder must exist.
    datatype : str
        ``cf32_le`` (complex float32) or ``ci16_le`` (complex int16, full scale 1.0;
        samples beyond it are clipped, counted (``clipped()``) and logged).
    sample_rate : float
        Samples per second (``core:sample_rate``).
    center_freq : float or None
        Centre frequency in Hz (``core:frequency``); None leaves it out.
    description : str
        ``core:description``.
    extra : dict or None
        More global keys, ``core:name`` or ``wigenai:name``: flowgraphs give the frame
        format (``wigenai:sps``, ``wigenai:rolloff``, ``wigenai:pilot_spacing``,
        ``wigenai:modulation``, and in test mode ``wigenai:payload_seed`` and
        ``wigenai:payload_len``) so that ``wigenai replay`` finds it.

    A bad parameter raises ValueError naming it, at construction. A failed write
    (disk full) is logged once and ends the samples part (the flowgraph goes on
    without it); a malformed annotation message is logged and dropped.
    """

    def __init__(
        self,
        base_path="recording",
        datatype="cf32_le",
        sample_rate=1e6,
        center_freq=None,
        description="",
        extra=None,
    ):
        check_writer_path(base_path)
        writer_global(sample_rate, datatype, description, "", extra)
        gr.hier_block2.__init__(
            self,
            "sigmf_sink",
            gr.io_signature(1, 1, gr.sizeof_gr_complex),
            gr.io_signature(0, 0, 0),
        )
        self._recording = _Recording(
            base_path=base_path,
            sample_rate=sample_rate,
            center_freq=center_freq,
            datatype=datatype,
            description=description,
            extra=extra,
        )
        self._samples = _samples_part(self._recording)
        self._annotations = _annotations_part(self._recording)
        self.connect(self, self._samples)
        self.message_port_register_hier_in(ANNOTATIONS_PORT)
        self.msg_connect(self, ANNOTATIONS_PORT, self._annotations, ANNOTATIONS_PORT)

    def meta_path(self) -> str:
        """The metadata file being written."""
        return str(self._recording.writer.meta_path)

    def samples_written(self) -> int:
        """Samples written to the data file so far."""
        return self._recording.writer.samples_written

    def annotations_written(self) -> int:
        """Annotations accepted so far (written when the recording closes)."""
        return self._recording.n_annotations

    def annotations_dropped(self) -> int:
        """Annotation messages that were malformed or came after the close."""
        return self._recording.dropped

    def clipped(self) -> int:
        """``ci16_le`` samples clipped to full scale so far."""
        return self._recording.writer.clipped


class _Recording:
    """The writer the two parts share; closed when the last running part stops."""

    def __init__(self, **options):
        self._options = options
        self._lock = threading.Lock()
        self.writer = SigmfWriter(**options)
        self.running = 0
        self.failed = False
        self.dropped = 0
        self.n_annotations = 0

    def part_started(self) -> None:
        with self._lock:
            if self.running == 0 and self.writer.closed:
                self.writer = SigmfWriter(**self._options)
                self.failed = False
                self.n_annotations = 0
            self.running += 1

    def part_stopped(self, logger) -> None:
        with self._lock:
            self.running = max(self.running - 1, 0)
            if self.running:
                return
            try:
                self.writer.close()
            except OSError as err:
                logger.error(f"{self.writer.meta_path}: not completed ({err})")
        if self.dropped:
            logger.warn(f"{self.dropped} annotation messages were dropped")

    def write(self, samples, logger) -> bool:
        """Append samples; False once writing has failed (logged the first time)."""
        with self._lock:
            if self.failed:
                return False
            try:
                self.writer.write(samples)
                return True
            except OSError as err:
                self.failed = True
                logger.error(
                    f"{self.writer.data_path}: write failed after "
                    f"{self.writer.samples_written} samples ({err}); recording stopped"
                )
                return False

    def annotate(self, msg, logger) -> None:
        try:
            annotation = pmt.to_python(msg)
        except Exception as err:  # pmt raises plain exceptions on exotic types
            self._drop(f"not convertible ({err})", logger)
            return
        if not isinstance(annotation, dict) or "start" not in annotation:
            text = pmt.write_string(msg)[:80]
            self._drop(f"expected a dict with 'start', got {text}", logger)
            return
        with self._lock:
            if self.writer.closed:
                self._drop("the recording is closed", logger)
                return
            try:
                self.writer.annotate(**annotation)
                self.n_annotations += 1
            except (TypeError, ValueError) as err:
                self._drop(str(err), logger)

    def _drop(self, why: str, logger) -> None:
        self.dropped += 1
        if self.dropped == 1 or np.log10(self.dropped).is_integer():
            logger.warn(
                f"annotation message dropped: {why} ({self.dropped} so far; logged at "
                "1, 10, 100, ...)"
            )


class _samples_part(gr.sync_block):  # noqa: N801 (GNU Radio block naming)
    """The stream side of sigmf_sink: writes every input sample."""

    def __init__(self, recording: _Recording):
        gr.sync_block.__init__(
            self, name="sigmf_sink", in_sig=[np.complex64], out_sig=None
        )
        self._recording = recording

    def start(self):
        self._recording.part_started()
        return True

    def stop(self):
        self._recording.part_stopped(self.logger)
        return True

    def work(self, input_items, output_items):
        samples = input_items[0]
        if not self._recording.write(samples, self.logger):
            return WORK_DONE
        return len(samples)


class _annotations_part(gr.basic_block):  # noqa: N801 (GNU Radio block naming)
    """The message side of sigmf_sink: hands each annotation dict to the writer."""

    def __init__(self, recording: _Recording):
        gr.basic_block.__init__(
            self, name="sigmf_sink_annotations", in_sig=None, out_sig=None
        )
        self._recording = recording
        self._port = pmt.intern(ANNOTATIONS_PORT)
        self.message_port_register_in(self._port)
        self.set_msg_handler(self._port, self._on_annotation)

    def start(self):
        self._recording.part_started()
        return True

    def stop(self):
        # The publisher's last messages may still be queued when its end notice
        # stops this block: they belong to the recording.
        block = self.to_basic_block()
        while block.nmsgs(self._port):
            self._on_annotation(block.delete_head_nowait(self._port))
        self._recording.part_stopped(self.logger)
        return True

    def _on_annotation(self, msg):
        self._recording.annotate(msg, self.logger)
