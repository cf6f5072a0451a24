"""SigMF recordings: read one in chunks, write one as a stream, annotate it afterwards.

A recording is a ``NAME.sigmf-meta`` JSON file (global section, captures, annotations)
beside a ``NAME.sigmf-data`` file of raw samples. Two datatypes are supported, those
the receive chain and the recorder block use: ``cf32_le`` (complex float32) and
``ci16_le`` (complex int16, read as ``value / 32768`` so that full scale is 1.0).

The project's keys live in the ``wigenai`` extension namespace of the global section
and state the frame format the waveform was sent with (:data:`FRAME_KEYS`):
``wigenai:sps``, ``wigenai:rolloff``, ``wigenai:pilot_spacing``, ``wigenai:modulation``,
and for test traffic ``wigenai:payload_seed`` and ``wigenai:payload_len``
(:func:`wigenai.burst.known_payload`). ``wigenai replay`` takes its defaults from them.

Annotations are handled here as plain dicts in the shape of
:meth:`wigenai.burst.BurstResult.to_annotation`: ``start`` and ``length`` in samples,
``label``, ``comment``, and any other field, which is stored as ``wigenai:<field>``
(a field that already names a namespace, ``ns:field``, is stored as given).

Metadata goes through the ``sigmf`` package (parsing, the dataset file name, schema
validation, writing). The samples do not: see :class:`Recording` for why.

Files come from users, so every problem is reported by a :class:`RecordingError`
naming the file and the field; what can be worked around (a file cut inside its last
sample, a sample rate that disagrees with the file's) is logged as a warning that says
what was assumed.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import warnings
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import jsonschema
import numpy as np
from sigmf import SigMFFile
from sigmf.error import SigMFError
from sigmf.sigmffile import get_dataset_filename_from_metadata, get_sigmf_filenames
from sigmf.utils import get_sigmf_iso8601_datetime_now

log = logging.getLogger(__name__)

#: Bytes per complex sample of each supported datatype.
SAMPLE_BYTES = {"cf32_le": 8, "ci16_le": 4}
SUPPORTED_DATATYPES = tuple(SAMPLE_BYTES)
#: int16 value of 1.0 in ``ci16_le`` (SigMF's fixed-point scaling).
CI16_FULL_SCALE = 32768.0
#: Extensions of raw sample files and the datatype they imply (GNU Radio's and UHD's
#: usual names included).
RAW_EXTENSIONS = {
    ".cf32": "cf32_le",
    ".fc32": "cf32_le",
    ".cfile": "cf32_le",
    ".ci16": "ci16_le",
    ".sc16": "ci16_le",
}
NAMESPACE = "wigenai"
EXTENSION = {"name": NAMESPACE, "version": "1.0.0", "optional": True}
#: The frame-format keys of the global section (without the ``wigenai:`` prefix) and
#: their types.
FRAME_KEYS = {
    "sps": int,
    "rolloff": float,
    "pilot_spacing": int,
    "modulation": str,
    "payload_seed": int,
    "payload_len": int,
}
_CORE_ANNOTATION_KEYS = (
    "core:sample_start",
    "core:sample_count",
    "core:label",
    "core:comment",
)
# Global fields the writer owns: a caller's extra keys may not replace them.
_WRITER_KEYS = (
    "core:datatype",
    "core:sample_rate",
    "core:version",
    "core:sha512",
    "core:num_channels",
    "core:offset",
    "core:extensions",
    "core:dataset",
)


class RecordingError(ValueError):
    """A recording that cannot be read or written as asked (names file and field)."""


# ---------------------------------------------------------------------------- reading


@dataclass
class Recording:
    """An opened recording (:func:`open_recording`); samples are read on demand.

    The samples are read here with numpy rather than through ``sigmf.SigMFFile``:
    the package checks the SHA-512 of the whole file before it reads anything (a
    recording cut short by a full disk is then refused, where this module reads what
    is there), and it cannot map a ``ci16`` file that ends inside a sample.

    Attributes
    ----------
    data_path : Path
        The file of samples.
    meta_path : Path or None
        The metadata file (None for a raw file).
    datatype : str
        ``cf32_le`` or ``ci16_le``.
    sample_rate : float or None
        Samples per second used (see :func:`open_recording`); None when unknown.
    center_freq : float or None
        ``core:frequency`` of the first capture, Hz.
    n_samples : int
        Whole samples in the data file.
    offset : int
        Bytes before the first sample (``core:header_bytes`` of the first capture).
    global_info : dict
        The global section as read (empty for a raw file).
    annotations : list of dict
        The recording's annotations (module docstring shape), in file order.
    frame : dict
        The ``wigenai:`` frame keys present (:data:`FRAME_KEYS`), without the prefix.
    """

    data_path: Path
    meta_path: Path | None
    datatype: str
    sample_rate: float | None
    center_freq: float | None
    n_samples: int
    offset: int = 0
    global_info: dict = field(default_factory=dict)
    annotations: list[dict] = field(default_factory=list)
    frame: dict = field(default_factory=dict)

    @property
    def name(self) -> str:
        """The file the user named: the metadata file, else the data file."""
        return str(self.meta_path or self.data_path)

    def read(self, start: int = 0, count: int | None = None) -> np.ndarray:
        """Samples ``start .. start + count - 1`` as complex64 (``ci16`` scaled).

        Parameters
        ----------
        start : int
            First sample, ``0 <= start <= n_samples``.
        count : int or None
            Number of samples; None reads to the end. Clipped at the end of the file.

        Returns
        -------
        complex64 array
        """
        if not 0 <= start <= self.n_samples:
            raise ValueError(f"start: expected 0..{self.n_samples}, got {start}")
        left = self.n_samples - start
        count = left if count is None else max(min(int(count), left), 0)
        with open(self.data_path, "rb") as fh:
            fh.seek(self.offset + start * SAMPLE_BYTES[self.datatype])
            return self._decode(fh, count)

    def chunks(self, chunk_samples: int = 1 << 16) -> Iterator[np.ndarray]:
        """The whole recording in consecutive complex64 chunks (the last one shorter).

        Parameters
        ----------
        chunk_samples : int
            Samples per chunk, >= 1.
        """
        if chunk_samples < 1:
            raise ValueError(f"chunk_samples: expected >= 1, got {chunk_samples}")
        with open(self.data_path, "rb") as fh:
            fh.seek(self.offset)
            done = 0
            while done < self.n_samples:
                count = min(chunk_samples, self.n_samples - done)
                chunk = self._decode(fh, count)
                if chunk.size < count:
                    raise RecordingError(
                        f"{self.data_path}: ended after {done + chunk.size} of "
                        f"{self.n_samples} samples while reading (truncated meanwhile?)"
                    )
                done += count
                yield chunk

    def _decode(self, fh, count: int) -> np.ndarray:
        if self.datatype == "cf32_le":
            return np.fromfile(fh, dtype="<c8", count=count).astype(np.complex64)
        iq = np.fromfile(fh, dtype="<i2", count=2 * count).astype(np.float32)
        iq /= CI16_FULL_SCALE
        return iq.view(np.complex64)


def open_recording(
    path,
    sample_rate: float | None = None,
    datatype: str | None = None,
    force_rate: bool = False,
) -> Recording:
    """Open a SigMF recording or a raw file of samples.

    Parameters
    ----------
    path : str or Path
        ``NAME.sigmf-meta`` (its data file beside it, or the one ``core:dataset``
        names); ``NAME.sigmf-data`` (its metadata file is used when it exists); or a
        raw file whose extension says the datatype (:data:`RAW_EXTENSIONS`) or whose
        ``datatype`` is given.
    sample_rate : float or None
        Samples per second. For a recording whose ``core:sample_rate`` disagrees, the
        file's rate is used and a warning says so, unless ``force_rate``.
    datatype : str or None
        ``cf32_le`` or ``ci16_le``, for a raw file; a recording's ``core:datatype``
        wins (with a warning when they differ).
    force_rate : bool
        Use ``sample_rate`` even when the file says otherwise.

    Returns
    -------
    Recording

    Raises
    ------
    RecordingError
        Missing or unreadable file, unsupported datatype, malformed fields; the
        message names the file and the field.
    """
    path = Path(path)
    if sample_rate is not None:
        sample_rate = _check_rate(sample_rate, "sample_rate")
    if datatype is not None and datatype not in SUPPORTED_DATATYPES:
        raise RecordingError(
            f"datatype: {datatype!r} not supported, expected one of "
            f"{', '.join(SUPPORTED_DATATYPES)}"
        )
    suffix = path.suffix.lower()
    if suffix == ".sigmf":
        raise RecordingError(
            f"{path}: SigMF archives are not read here; unpack it (tar xf) and give "
            "the .sigmf-meta file"
        )
    if suffix == ".sigmf-data" and path.with_suffix(".sigmf-meta").is_file():
        path, suffix = path.with_suffix(".sigmf-meta"), ".sigmf-meta"
    if suffix == ".sigmf-meta":
        if not path.is_file():
            raise RecordingError(f"{path}: no such file")
        return _open_meta(path, sample_rate, datatype, force_rate)
    return _open_raw(path, sample_rate, datatype)


def _open_raw(path: Path, sample_rate, datatype) -> Recording:
    if not path.is_file():
        raise RecordingError(f"{path}: no such file")
    implied = RAW_EXTENSIONS.get(path.suffix.lower())
    if datatype is None and implied is None:
        raise RecordingError(
            f"{path}: the extension does not say the datatype and there is no "
            f".sigmf-meta beside it; give the datatype ({', '.join(SUPPORTED_DATATYPES)})"
        )
    if datatype is not None and implied is not None and datatype != implied:
        log.warning(
            "%s: the extension says %s; reading it as %s, as asked",
            path,
            implied,
            datatype,
        )
    datatype = datatype or implied
    n_samples = _whole_samples(path, path.stat().st_size, datatype)
    return Recording(path, None, datatype, sample_rate, None, n_samples)


def _open_meta(meta: Path, sample_rate, datatype, force_rate) -> Recording:
    doc = _load_meta(meta)
    sigmf_file = _as_sigmf(doc, meta)
    glob = doc["global"]

    file_type = glob.get("core:datatype")
    if file_type is None:
        raise RecordingError(f"{meta}: global core:datatype is missing")
    if file_type not in SUPPORTED_DATATYPES:
        raise RecordingError(
            f"{meta}: core:datatype {file_type!r} is not supported, expected one of "
            f"{', '.join(SUPPORTED_DATATYPES)}"
        )
    if datatype is not None and datatype != file_type:
        log.warning(
            "%s: datatype %s given, the file's core:datatype is %s; using the file's",
            meta,
            datatype,
            file_type,
        )
    channels = glob.get("core:num_channels", 1)
    if channels != 1:
        raise RecordingError(
            f"{meta}: core:num_channels is {channels!r}; only single-channel "
            "recordings are supported"
        )

    data = _data_file(meta, doc)
    captures = doc.get("captures") or [{}]
    for k, capture in enumerate(captures[1:], start=1):
        if capture.get("core:header_bytes"):
            raise RecordingError(
                f"{meta}: captures[{k}] has core:header_bytes; only the first capture "
                "may have a header"
            )
    header = _nonneg_int(
        captures[0].get("core:header_bytes", 0), meta, "core:header_bytes"
    )
    trailing = _nonneg_int(
        glob.get("core:trailing_bytes", 0), meta, "core:trailing_bytes"
    )
    size = data.stat().st_size - header - trailing
    if size < 0:
        raise RecordingError(
            f"{data}: {data.stat().st_size} bytes, fewer than the core:header_bytes "
            f"and core:trailing_bytes of {meta}"
        )
    n_samples = _whole_samples(data, size, file_type)

    file_rate = glob.get("core:sample_rate")
    if file_rate is not None:
        file_rate = _check_rate(file_rate, f"{meta}: core:sample_rate")
    rate = _pick_rate(meta, file_rate, sample_rate, force_rate)
    center = captures[0].get("core:frequency")
    if center is not None and not _is_number(center):
        raise RecordingError(
            f"{meta}: captures[0] core:frequency {center!r} is not a number"
        )

    annotations = [from_sigmf_annotation(a) for a in sigmf_file.get_annotations()]
    return Recording(
        data_path=data,
        meta_path=meta,
        datatype=file_type,
        sample_rate=rate,
        center_freq=None if center is None else float(center),
        n_samples=n_samples,
        offset=header,
        global_info=glob,
        annotations=annotations,
        frame=_frame_keys(glob, meta),
    )


def _load_meta(meta: Path) -> dict:
    try:
        with open(meta, encoding="utf-8") as fh:
            doc = json.load(fh)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise RecordingError(f"{meta}: not a readable JSON file ({err})") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("global"), dict):
        raise RecordingError(f"{meta}: no 'global' object; not SigMF metadata")
    for section in ("captures", "annotations"):
        items = doc.get(section, [])
        if not isinstance(items, list) or not all(isinstance(a, dict) for a in items):
            raise RecordingError(f"{meta}: '{section}' is not a list of objects")
    return doc


def _as_sigmf(doc: dict, meta: Path) -> SigMFFile:
    """The metadata as a ``SigMFFile``; a schema violation is a warning only, since the
    fields this module needs are checked one by one with clearer messages."""
    try:
        sigmf_file = SigMFFile(metadata=doc)
    except SigMFError as err:
        raise RecordingError(f"{meta}: {err}") from None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # undeclared namespaces
            sigmf_file.validate()
    except jsonschema.ValidationError as err:
        where = "/".join(str(p) for p in err.absolute_path) or "top level"
        log.warning(
            "%s: not valid SigMF at %s (%s); reading it anyway", meta, where, err.message
        )
    return sigmf_file


def _data_file(meta: Path, doc: dict) -> Path:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # both files present: core:dataset wins
            data = get_dataset_filename_from_metadata(meta, doc)
    except SigMFError:
        name = doc["global"].get("core:dataset")
        raise RecordingError(
            f"{meta.parent / str(name)}: data file named by core:dataset of {meta} "
            "not found"
        ) from None
    if data is None:
        if doc["global"].get("core:metadata_only"):
            raise RecordingError(f"{meta}: core:metadata_only, there are no samples")
        expected = Path(get_sigmf_filenames(meta)["data_fn"])
        raise RecordingError(f"{expected}: data file of {meta} not found")
    return Path(data)


def _whole_samples(path: Path, size: int, datatype: str) -> int:
    width = SAMPLE_BYTES[datatype]
    n_samples, extra = divmod(size, width)
    if extra:
        log.warning(
            "%s: ends inside a sample (%s, %d bytes per sample); the last %d bytes are "
            "dropped, %d whole samples read",
            path,
            datatype,
            width,
            extra,
            n_samples,
        )
    return n_samples


def _pick_rate(meta, file_rate, given, force):
    if given is None or file_rate is None:
        return given if file_rate is None else file_rate
    if math.isclose(given, file_rate, rel_tol=1e-9):
        return file_rate
    if force:
        log.warning(
            "%s: sample rate %.9g Hz given, the file's core:sample_rate is %.9g Hz; "
            "using %.9g Hz, as forced",
            meta,
            given,
            file_rate,
            given,
        )
        return given
    log.warning(
        "%s: sample rate %.9g Hz given, the file's core:sample_rate is %.9g Hz; "
        "using the file's %.9g Hz (force the given rate to override)",
        meta,
        given,
        file_rate,
        file_rate,
    )
    return file_rate


def _frame_keys(glob: dict, meta: Path) -> dict:
    out = {}
    for key, kind in FRAME_KEYS.items():
        value = glob.get(f"{NAMESPACE}:{key}")
        if value is None:
            continue
        if kind is int:
            ok = isinstance(value, int) and not isinstance(value, bool)
        elif kind is float:
            ok = _is_number(value)
        else:
            ok = isinstance(value, str)
        if not ok:
            raise RecordingError(
                f"{meta}: global {NAMESPACE}:{key} should be {kind.__name__}, "
                f"got {value!r}"
            )
        out[key] = kind(value)
    return out


def _is_number(value) -> bool:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    return ok and math.isfinite(value)


def _check_rate(value, name: str) -> float:
    if not _is_number(value) or value <= 0:
        raise RecordingError(f"{name}: expected a finite rate > 0 Hz, got {value!r}")
    return float(value)


def _nonneg_int(value, meta, key) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise RecordingError(f"{meta}: {key} should be an integer >= 0, got {value!r}")
    return value


def reconcile_frame(recorded: dict, given: dict, source: str) -> dict:
    """The frame settings to use: the given ones, else the recording's.

    Every given setting that disagrees with the recording's ``wigenai:`` key is logged
    as a warning saying which value is used (the given one: the user asked for it).

    Parameters
    ----------
    recorded : dict
        :attr:`Recording.frame`.
    given : dict
        Settings by :data:`FRAME_KEYS` name; None means not given.
    source : str
        The recording's name, for the messages.

    Returns
    -------
    dict
        The recorded keys updated with the given ones (None values left out).
    """
    out = dict(recorded)
    for key, value in given.items():
        if value is None:
            continue
        if key in recorded and recorded[key] != value:
            log.warning(
                "%s: recorded with %s:%s = %r, replaying with %r as given",
                source,
                NAMESPACE,
                key,
                recorded[key],
                value,
            )
        out[key] = value
    return out


# ------------------------------------------------------------------------ annotations


def to_sigmf_annotation(annotation: dict) -> dict:
    """An annotation dict (module docstring shape) as a SigMF annotation object.

    Parameters
    ----------
    annotation : dict
        ``start`` (int >= 0) is required; ``length`` (int >= 0), ``label`` and
        ``comment`` (str) are optional; other fields become ``wigenai:<field>``.
        Values must be JSON numbers, strings, booleans, None, lists or dicts of them
        (numpy scalars are converted); a non-finite float is stored as null.

    Returns
    -------
    dict

    Raises
    ------
    ValueError
        A missing or malformed field, named.
    """
    if not isinstance(annotation, dict):
        raise ValueError(f"annotation: expected a dict, got {type(annotation).__name__}")
    if "start" not in annotation:
        raise ValueError("annotation: 'start' (first sample) is missing")
    out = {"core:sample_start": _count(annotation["start"], "start")}
    if annotation.get("length") is not None:
        out["core:sample_count"] = _count(annotation["length"], "length")
    for key in ("label", "comment"):
        value = annotation.get(key)
        if value is not None:
            if not isinstance(value, str):
                raise ValueError(f"annotation {key}: expected a string, got {value!r}")
            out[f"core:{key}"] = value
    for key, value in annotation.items():
        if key in ("start", "length", "label", "comment"):
            continue
        if not isinstance(key, str) or not key:
            raise ValueError(f"annotation: field names must be strings, got {key!r}")
        name = key if ":" in key else f"{NAMESPACE}:{key}"
        out[name] = _jsonable(value, f"annotation {key}")
    return out


def from_sigmf_annotation(item: dict) -> dict:
    """A SigMF annotation object back in the module docstring's shape.

    ``wigenai:`` fields lose their prefix; fields of other namespaces keep theirs.
    """
    out = {
        "start": item.get("core:sample_start", 0),
        "length": item.get("core:sample_count"),
        "label": item.get("core:label", ""),
        "comment": item.get("core:comment", ""),
    }
    prefix = f"{NAMESPACE}:"
    for key, value in item.items():
        if key.startswith(prefix):
            out[key[len(prefix) :]] = value
        elif key not in _CORE_ANNOTATION_KEYS:
            out[key] = value
    return out


def _count(value, name: str) -> int:
    ok = isinstance(value, (int, np.integer)) and not isinstance(value, bool)
    if not ok or value < 0:
        raise ValueError(f"annotation {name}: expected an integer >= 0, got {value!r}")
    return int(value)


def _jsonable(value, where: str):
    """``value`` as JSON data; ``where`` names it in the error."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, (list, tuple, np.ndarray)):
        return [_jsonable(v, where) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v, where) for k, v in value.items()}
    raise ValueError(
        f"{where}: a {type(value).__name__} cannot be stored in SigMF metadata"
    )


def _with_extension(glob: dict, items: Iterable[dict]) -> dict:
    """``glob`` with the wigenai namespace declared when it or ``items`` use it (SigMF
    asks every namespace in use to be declared in ``core:extensions``)."""
    prefix = f"{NAMESPACE}:"
    used = any(k.startswith(prefix) for item in (glob, *items) for k in item)
    extensions = list(glob.get("core:extensions", []))
    if used and not any(e.get("name") == NAMESPACE for e in extensions):
        extensions.append(dict(EXTENSION))
    return dict(glob, **{"core:extensions": extensions}) if extensions else dict(glob)


def _write_meta(sigmf_file: SigMFFile, meta: Path) -> None:
    """Validate, then replace ``meta`` atomically (a reader never sees half a file)."""
    sigmf_file.validate()
    tmp = meta.with_name(meta.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        sigmf_file.dump(fh, pretty=True)
        fh.write("\n")
    os.replace(tmp, meta)


def add_annotations(meta_path, annotations: Iterable[dict]) -> int:
    """Write annotations into an existing recording's metadata.

    Earlier annotations with a label among the new ones are replaced (so a second
    ``wigenai replay --annotate`` does not pile up duplicates); the others are kept.

    Parameters
    ----------
    meta_path : str or Path
        The ``.sigmf-meta`` file; rewritten in place.
    annotations : iterable of dict
        Module docstring shape (:func:`to_sigmf_annotation`).

    Returns
    -------
    int
        Annotations in the file afterwards.

    Raises
    ------
    RecordingError
        Unreadable metadata, or metadata that would not validate.
    ValueError
        A malformed annotation.
    """
    meta = Path(meta_path)
    doc = _load_meta(meta)
    new = [to_sigmf_annotation(a) for a in annotations]
    labels = {a.get("core:label") for a in new}
    doc["annotations"] = [
        a for a in doc.get("annotations", []) if a.get("core:label") not in labels
    ]
    doc.setdefault("captures", [])
    doc["global"] = _with_extension(doc["global"], [*doc["annotations"], *new])
    sigmf_file = SigMFFile(metadata=doc)
    for item in new:
        _add_annotation(sigmf_file, item)
    try:
        _write_meta(sigmf_file, meta)
    except jsonschema.ValidationError as err:
        raise RecordingError(
            f"{meta}: would not validate as SigMF ({err.message})"
        ) from None
    return len(sigmf_file.get_annotations())


# ---------------------------------------------------------------------------- writing


def writer_global(
    sample_rate: float,
    datatype: str = "cf32_le",
    description: str = "",
    hw: str = "",
    extra: dict | None = None,
) -> dict:
    """The global section :class:`SigmfWriter` writes, checked against the schema.

    Parameters are those of :class:`SigmfWriter`.

    Returns
    -------
    dict

    Raises
    ------
    ValueError
        Naming the parameter (``sample_rate``, ``datatype``, ``description``, ``hw``,
        ``extra``).
    """
    if not _is_number(sample_rate) or sample_rate <= 0:
        raise ValueError(
            f"sample_rate: expected a finite rate > 0 Hz, got {sample_rate!r}"
        )
    if datatype not in SUPPORTED_DATATYPES:
        raise ValueError(
            f"datatype: {datatype!r} not supported, expected one of "
            f"{', '.join(SUPPORTED_DATATYPES)}"
        )
    glob = {
        "core:datatype": datatype,
        "core:sample_rate": float(sample_rate),
        "core:recorder": "gr-wigenai",
    }
    for name, value in (("description", description), ("hw", hw)):
        if not isinstance(value, str):
            raise ValueError(f"{name}: expected a string, got {value!r}")
        if value:
            glob[f"core:{name}"] = value
    extra = {} if extra is None else extra
    if not isinstance(extra, dict):
        raise ValueError(f"extra: expected a dict of global keys, got {extra!r}")
    for key, value in extra.items():
        # Another namespace would have to be declared with its version, which only
        # the caller knows: keep to the two this module can declare.
        if not isinstance(key, str) or key.split(":")[0] not in ("core", NAMESPACE):
            raise ValueError(
                f"extra: key {key!r} must be 'core:name' or '{NAMESPACE}:name'"
            )
        if key in _WRITER_KEYS:
            raise ValueError(f"extra: {key} is set by the writer, it cannot be given")
        glob[key] = _jsonable(value, f"extra: {key}")
    glob = _with_extension(glob, [])
    sigmf_file = SigMFFile(global_info=glob)
    try:
        sigmf_file.validate()
    except jsonschema.ValidationError as err:
        where = "/".join(str(p) for p in err.absolute_path)
        raise ValueError(f"extra: {where}: {err.message}") from None
    return sigmf_file.get_global_info()


def check_writer_path(base_path) -> tuple[Path, Path]:
    """The metadata and data file names for ``base_path``; its folder must exist.

    ``base_path`` may end in ``.sigmf-meta`` or ``.sigmf-data`` or have no SigMF
    extension (``rec`` gives ``rec.sigmf-meta`` and ``rec.sigmf-data``).

    Raises
    ------
    ValueError
        Naming ``base_path``.
    """
    if not isinstance(base_path, (str, os.PathLike)) or not str(base_path):
        raise ValueError(f"base_path: expected a file name, got {base_path!r}")
    names = get_sigmf_filenames(base_path)
    meta, data = Path(names["meta_fn"]), Path(names["data_fn"])
    folder = meta.parent
    if not folder.is_dir():
        raise ValueError(f"base_path: folder {folder} does not exist")
    if not os.access(folder, os.W_OK):
        raise ValueError(f"base_path: folder {folder} is not writable")
    return meta, data


class SigmfWriter:
    """Write a SigMF recording as a stream of samples, with annotations.

    The data file is written as samples arrive; the metadata is written when the
    writer opens (so that a recording cut short by a crash is still readable) and
    rewritten by :meth:`close` with the annotations and the SHA-512 of the data. An
    existing recording of the same name is replaced.

    Parameters
    ----------
    base_path : str or Path
        ``NAME``, ``NAME.sigmf-meta`` or ``NAME.sigmf-data``; the folder must exist.
    sample_rate : float
        Samples per second, > 0.
    center_freq : float or None
        Centre frequency in Hz (``core:frequency`` of the capture); None leaves it out.
    datatype : str
        ``cf32_le`` or ``ci16_le``. With ``ci16_le`` the samples are scaled by 32768
        (1.0 is full scale) and rounded; samples beyond full scale are clipped,
        counted (:attr:`clipped`) and logged (first time, and the total at close).
    description, hw : str
        ``core:description`` and ``core:hw``; empty leaves them out.
    extra : dict or None
        More global keys, ``namespace:name`` (for instance the frame keys
        ``wigenai:sps``, ``wigenai:payload_seed``, ... of :data:`FRAME_KEYS`).

    Raises
    ------
    ValueError
        A bad parameter, named; or the files cannot be created (``base_path``).

    Attributes
    ----------
    samples_written : int
    clipped : int
        ``ci16`` samples clipped to full scale.
    nonfinite : int
        Samples with a NaN or infinite part (written as 0 in ``ci16``, as they are in
        ``cf32``).
    """

    def __init__(
        self,
        base_path,
        sample_rate: float,
        center_freq: float | None = None,
        datatype: str = "cf32_le",
        description: str = "",
        hw: str = "",
        extra: dict | None = None,
    ):
        self.meta_path, self.data_path = check_writer_path(base_path)
        self._global = writer_global(sample_rate, datatype, description, hw, extra)
        if center_freq is not None and not _is_number(center_freq):
            raise ValueError(
                f"center_freq: expected a finite number of Hz, got {center_freq!r}"
            )
        self.datatype = datatype
        self._capture = {"core:datetime": get_sigmf_iso8601_datetime_now()}
        if center_freq is not None:
            self._capture["core:frequency"] = float(center_freq)
        self._annotations: list[dict] = []
        self._hash = hashlib.sha512()
        self.samples_written = 0
        self.clipped = 0
        self.nonfinite = 0
        self._fh = None
        try:
            self._fh = open(self.data_path, "wb")
            self._write_meta(final=False)
        except OSError as err:
            if self._fh is not None:
                self._fh.close()
            raise ValueError(f"base_path: cannot create the recording ({err})") from None

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` has run."""
        return self._fh is None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def write(self, samples: np.ndarray) -> None:
        """Append complex samples.

        Raises
        ------
        OSError
            The data file cannot be written (disk full, ...).
        ValueError
            The writer is closed.
        """
        if self._fh is None:
            raise ValueError(f"{self.data_path}: the writer is closed")
        x = np.asarray(samples).reshape(-1)
        if x.size == 0:
            return
        bad = ~np.isfinite(x)
        n_bad = int(np.count_nonzero(bad))
        if n_bad:
            if self.nonfinite == 0:
                log.warning(
                    "%s: non-finite samples in the input (%d in this block), written as "
                    "%s; counted in nonfinite",
                    self.data_path,
                    n_bad,
                    "0" if self.datatype == "ci16_le" else "they are",
                )
            self.nonfinite += n_bad
        if self.datatype == "cf32_le":
            raw = x.astype("<c8").tobytes()
        else:
            raw = self._to_ci16(np.where(bad, 0, x)).tobytes()
        self._fh.write(raw)
        self._hash.update(raw)
        self.samples_written += x.size

    def _to_ci16(self, x: np.ndarray) -> np.ndarray:
        iq = np.empty((x.size, 2), dtype=np.float64)
        iq[:, 0] = np.rint(x.real * CI16_FULL_SCALE)
        iq[:, 1] = np.rint(x.imag * CI16_FULL_SCALE)
        over = np.any((iq > 32767) | (iq < -32768), axis=1)
        n_over = int(np.count_nonzero(over))
        if n_over:
            if self.clipped == 0:
                log.warning(
                    "%s: %d samples beyond the ci16 full scale (|I| or |Q| >= 1.0) "
                    "clipped; scale the input down (the total is logged at close)",
                    self.data_path,
                    n_over,
                )
            self.clipped += n_over
        return np.clip(iq, -32768, 32767).astype("<i2")

    def annotate(
        self,
        start: int,
        length: int | None = None,
        label: str | None = None,
        comment: str | None = None,
        **fields,
    ) -> None:
        """Add an annotation (written at :meth:`close`).

        Parameters
        ----------
        start : int
            First sample, >= 0.
        length : int or None
            Samples, >= 0.
        label, comment : str or None
        **fields
            Stored as ``wigenai:<field>`` (see :func:`to_sigmf_annotation`).

        Raises
        ------
        ValueError
            A malformed field, or the writer is closed.
        """
        if self._fh is None:
            raise ValueError(f"{self.meta_path}: the writer is closed")
        ann = dict(fields, start=start, length=length, label=label, comment=comment)
        self._annotations.append(to_sigmf_annotation(ann))

    def close(self) -> None:
        """Close the data file and write the final metadata (idempotent).

        Raises
        ------
        OSError
            The last buffered samples or the metadata could not be written; the data
            file is closed all the same.
        """
        if self._fh is None:
            return
        fh, self._fh = self._fh, None
        try:
            fh.close()
        finally:
            if self.clipped:
                log.warning(
                    "%s: %d of %d samples were clipped to the ci16 full scale",
                    self.data_path,
                    self.clipped,
                    self.samples_written,
                )
        self._write_meta(final=True)

    def _write_meta(self, final: bool) -> None:
        annotations = self._annotations if final else []
        glob = _with_extension(self._global, annotations)
        if final:
            glob["core:sha512"] = self._hash.hexdigest()
        sigmf_file = SigMFFile(global_info=glob)
        sigmf_file.add_capture(0, metadata=dict(self._capture))
        for item in annotations:
            _add_annotation(sigmf_file, item)
        _write_meta(sigmf_file, self.meta_path)


def _add_annotation(sigmf_file: SigMFFile, item: dict) -> None:
    """Add one SigMF annotation object through the package (which keeps them sorted)."""
    item = dict(item)
    start, count = item.pop("core:sample_start"), item.pop("core:sample_count", None)
    sigmf_file.add_annotation(start, count, metadata=item)


def write_recording(
    base_path,
    samples: np.ndarray,
    sample_rate: float,
    center_freq: float | None = None,
    datatype: str = "cf32_le",
    annotations: Iterable[dict] = (),
    description: str = "",
    hw: str = "",
    extra: dict | None = None,
) -> Path:
    """Write a whole recording at once (:class:`SigmfWriter` in one call).

    Parameters
    ----------
    base_path, sample_rate, center_freq, datatype, description, hw, extra
        As :class:`SigmfWriter`.
    samples : complex array
    annotations : iterable of dict
        Module docstring shape.

    Returns
    -------
    Path
        The metadata file.
    """
    with SigmfWriter(
        base_path, sample_rate, center_freq, datatype, description, hw, extra
    ) as writer:
        writer.write(samples)
        for ann in annotations:
            writer.annotate(**ann)
    return writer.meta_path
