"""What a gr-wigenai ONNX model promises: its contract, and the diffusion schedule.

A model file is only usable if the receiver knows how to drive it: which diffusion
schedule it was trained with, how symbols are scaled before they enter the network,
which constellation it generates and on which link it was trained. All of this travels
inside the ONNX file as JSON under the metadata key ``wigenai``, so that the file alone
is enough to run the reverse chain (numpy and onnxruntime, no torch).

Contract fields (``format_version`` 1)
======================================

=================  ==========================================================
field              meaning
=================  ==========================================================
format_version     1
kind               ``"denoiser"`` (receiver, case study 1) or ``"shaper"``
variant            ``"unconditional"`` (input ``x_t``) or ``"conditional"``
                   (input ``x_t`` and the received sample, both scaled)
inputs, outputs    names, dtypes, shapes and layouts of the graph's tensors
prediction         ``"epsilon"``: the network predicts the added noise
T                  number of diffusion steps; step indices are ``0 .. T-1``
schedule           name of the beta schedule (informative)
betas              the ``T`` betas themselves (what samplers use)
constellation      ``{name, order, points}``: nominal unit-energy points
input_scale        complex symbol times ``input_scale`` = network units
                   (``sqrt(2)``: unit variance per real dimension)
training_link      kappa_t, kappa_r, quant_bits, adc_bits, dac_full_scale,
                   adc_loading, snr_db_range, noise of the training link; or, for
                   a structured link, ``preset`` (its name), ``overrides`` and
                   ``params`` (every value, :mod:`wigenai.presets`), snr_db_range
start              ``"matched"`` (default): the chain starts from the received
                   sample at the step matched to the SNR; ``"prior"``
                   (conditional only): from 0 at the last step, the received
                   sample (``DiffusionSchedule.condition``) only the condition
prior              ``"transmitted"`` (default): the network generates the sent
                   points; ``"impaired"``: the noiseless received cloud of a
                   structured link (the points after PA, IQ imbalance, phase
                   noise, DC offset), so that the chain denoises onto it
decision           optional ``{points: [[re, im], ...], labels: [...]}``: the
                   estimate's symbol is the label of the nearest of these points
                   (an impaired prior's cloud, sampled); default: the nearest
                   constellation point
network            hidden width, layers, activation, time embedding
ema                EMA decay of the exported weights (``null`` if raw)
=================  ==========================================================

Graph: input ``x`` float32 ``[B, 2]`` (``[B, 4]`` conditional: ``x_t`` then the
conditioning sample), input ``t`` int64 scalar (one step for the whole batch), output
``eps`` float32 ``[B, 2]``.

Schedule conventions
====================

Step ``t`` (0-based) has ``abar_t = prod_{s <= t} (1 - beta_s)`` and
``x_t = sqrt(abar_t) x0 + sqrt(1 - abar_t) eps`` with ``eps`` of unit variance per
real dimension. With ``x0 = input_scale * x`` and ``x`` of unit energy per complex
symbol, the symbol-energy-to-noise ratio of ``x_t`` is
``abar / (1 - abar) * 2 / input_scale**2``; a received sample at ``Es/N0 = snr`` is
therefore matched by the step whose ``abar / (1 - abar)`` is closest (in dB) to
``2 * snr / input_scale**2``. With the default ``input_scale = sqrt(2)`` that is
``abar / (1 - abar) = snr``; the textbook "2 snr" holds for ``input_scale = 1`` only.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import asdict, dataclass, field

import numpy as np

FORMAT_VERSION = 1
METADATA_KEY = "wigenai"
KINDS = ("denoiser", "shaper")
VARIANTS = {"unconditional": 2, "conditional": 4}
SCHEDULES = ("sigmoid", "linear", "cosine")
STARTS = ("matched", "prior")
PRIORS = ("transmitted", "impaired")
# Bound on each real entry of the chain's start state (network units, where in-
# distribution samples have unit variance); see DiffusionSchedule.start_state.
START_CLIP = 20.0
# Exponent of the DDIM step grid (DiffusionSchedule.ddim_steps). Measured on the
# default QPSK link (100,000 symbols, -25..-5 dB, AWGN and Laplace, three trained
# models): with 2 calls, 0.6 kept 0.985-1.0 of MAP's advantage over guessing where
# even spacing (1.0) fell to 0.93-0.97 at -25 dB Laplace; 0.4 was worse too.
DDIM_SPACING = 0.6


# ----- diffusion schedule -------------------------------------------------------------


def beta_schedule(
    name: str, steps: int, beta_start: float | None = None, beta_end: float | None = None
) -> np.ndarray:
    """Betas of a named schedule, float64 array of length ``steps``.

    ``sigmoid``: ``beta_start + (beta_end - beta_start) * sigmoid(linspace(-6, 6))``;
    default 3e-4 .. 0.15, i.e. the usual 1e-5 .. 5e-3 scaled by 30 so that T = 100
    steps reach about -35 dB (the unscaled range ends near +5 dB, unusable for a
    -25 dB link). ``linear``: default (0.1 .. 20) / T, the 1e-4 .. 0.02 of T = 1000
    rescaled to T steps (about -47 dB at T = 100). ``cosine``: Nichol and Dhariwal's
    ``abar(t) = cos^2(((t/T) + 0.008) / 1.008 * pi / 2)``, betas clipped at 0.999;
    ``beta_start`` / ``beta_end`` are ignored.
    """
    steps = int(steps)
    if steps < 2:
        raise ValueError(f"T: need at least 2 diffusion steps, got {steps}")
    name = str(name).lower()
    if name == "sigmoid":
        lo = 3e-4 if beta_start is None else float(beta_start)
        hi = 0.15 if beta_end is None else float(beta_end)
        ramp = 1.0 / (1.0 + np.exp(-np.linspace(-6.0, 6.0, steps)))
        betas = lo + (hi - lo) * ramp
    elif name == "linear":
        lo = 0.1 / steps if beta_start is None else float(beta_start)
        hi = 20.0 / steps if beta_end is None else float(beta_end)
        betas = np.linspace(lo, hi, steps)
    elif name == "cosine":
        s = 0.008
        grid = np.arange(steps + 1) / steps
        abar = np.cos((grid + s) / (1 + s) * math.pi / 2) ** 2
        betas = np.clip(1.0 - abar[1:] / abar[:-1], 1e-8, 0.999)
    else:
        raise ValueError(f"schedule: unknown {name!r}, expected one of {SCHEDULES}")
    check_betas(betas)
    return betas


def check_betas(betas) -> np.ndarray:
    """Return ``betas`` as float64 array if every beta is finite and in (0, 1)."""
    betas = np.asarray(betas, dtype=np.float64).reshape(-1)
    if betas.size < 2 or not np.all(np.isfinite(betas)):
        raise ValueError("betas: need at least 2 finite values")
    if np.any(betas <= 0) or np.any(betas >= 1):
        raise ValueError("betas: every beta must lie in (0, 1)")
    return betas


class DiffusionSchedule:
    """Everything a sampler derives from the betas (numpy only).

    Parameters
    ----------
    betas : array of float, shape (T,)
        Noise added at each forward step, in (0, 1).
    input_scale : float
        Complex symbols of unit energy are multiplied by this before the network.
    """

    def __init__(self, betas, input_scale: float = math.sqrt(2.0)):
        self.betas = check_betas(betas)
        self.T = self.betas.size
        self.alphas = 1.0 - self.betas
        self.alpha_bar = np.cumprod(self.alphas)
        self.input_scale = float(input_scale)
        # log of abar / (1 - abar): the "SNR" of step t in network units.
        self.log_ratio = np.log(self.alpha_bar) - np.log1p(-self.alpha_bar)

    def step_snr_db(self) -> np.ndarray:
        """Es/N0 (dB, per complex symbol of unit energy) that each step represents."""
        es_n0 = np.exp(self.log_ratio) * 2.0 / self.input_scale**2
        return 10.0 * np.log10(es_n0)

    def start_step(self, snr) -> np.ndarray | int:
        """Step whose noise level matches an effective Es/N0 ``snr`` (ratio, not dB).

        Nearest in log ratio; an SNR below the schedule's last step maps to ``T - 1``,
        above the first step to 0. Accepts a scalar or an array.
        """
        snr_arr = np.asarray(snr, dtype=np.float64)
        with np.errstate(divide="ignore"):
            target = np.log(np.maximum(snr_arr, 0.0) * self.input_scale**2 / 2.0)
        # log_ratio decreases with t: search on the reversed, increasing array.
        rev = self.log_ratio[::-1]
        pos = np.clip(np.searchsorted(rev, target), 1, self.T - 1)
        left, right = rev[pos - 1], rev[pos]
        pos = np.where(np.abs(target - left) <= np.abs(right - target), pos - 1, pos)
        steps = (self.T - 1 - pos).astype(np.int64)
        return int(steps) if steps.ndim == 0 else steps

    def start_state(self, y: np.ndarray, t_start) -> np.ndarray:
        """The reverse chain's first state: ``sqrt(abar_t*) * input_scale * y``.

        ``y``: complex received samples (already divided by a known gain), ``t_start``
        a step or one step per sample. Returns float64 (N, 2) in network units, each
        real entry clipped to ``+-START_CLIP`` and NaN mapped to 0: in distribution it
        has unit variance, so the clip only touches samples far outside anything
        trained (a 20 dB gain error, a burst), which then stay finite.
        """
        y = np.asarray(y, dtype=np.complex128).reshape(-1)
        gain = np.sqrt(self.alpha_bar[np.asarray(t_start)]) * self.input_scale
        z = np.stack([y.real, y.imag], axis=1) * np.reshape(gain, (-1, 1))
        z = np.nan_to_num(z, nan=0.0, posinf=START_CLIP, neginf=-START_CLIP)
        return np.clip(z, -START_CLIP, START_CLIP)

    def condition(self, y: np.ndarray) -> np.ndarray:
        """The condition of a ``start: prior`` model: ``input_scale * y``, float64
        (N, 2), clipped and NaN-free like :meth:`start_state`."""
        y = np.asarray(y, dtype=np.complex128).reshape(-1)
        z = np.stack([y.real, y.imag], axis=1) * self.input_scale
        z = np.nan_to_num(z, nan=0.0, posinf=START_CLIP, neginf=-START_CLIP)
        return np.clip(z, -START_CLIP, START_CLIP)

    def ddim_steps(
        self, t_start: int, steps: int, spacing: float = DDIM_SPACING
    ) -> np.ndarray:
        """Descending steps at which DDIM calls the network:
        ``round(t_start * (1 - k / steps) ** spacing)`` for ``k = 0 .. steps-1``, then
        the jump to the clean estimate. ``spacing = 1`` spaces the calls evenly;
        below 1 they stay at lower SNR, where an error of the first x0 estimate is
        attenuated (2 calls from step 86: 86, 57 with 0.6; 86, 43 with 1). Rounding
        can merge steps, so this makes at most ``steps`` calls; asking for more
        calls than ``t_start`` gives every step once.
        """
        t_start = int(t_start)
        if not 0 <= t_start < self.T:
            raise ValueError(f"t_start: expected 0..{self.T - 1}, got {t_start}")
        if steps < 1:
            raise ValueError(f"steps: expected >= 1, got {steps}")
        if not spacing > 0:
            raise ValueError(f"spacing: expected a number > 0, got {spacing}")
        if steps > t_start:
            return np.arange(t_start, -1, -1, dtype=np.int64)
        ramp = (1.0 - np.arange(steps) / steps) ** float(spacing)
        grid = np.rint(t_start * ramp).astype(np.int64)
        return np.unique(grid)[::-1]

    def ancestral_coefficients(self, t: int) -> tuple[float, float, float]:
        """``(a, b, sigma)`` of the ancestral step
        ``x_{t-1} = a (x_t - b eps) + sigma z`` with the posterior variance
        ``beta_t (1 - abar_{t-1}) / (1 - abar_t)`` (zero when leaving step 0)."""
        beta, ab = self.betas[t], self.alpha_bar[t]
        ab_prev = self.alpha_bar[t - 1] if t > 0 else 1.0
        sigma = np.sqrt(beta * (1.0 - ab_prev) / (1.0 - ab))
        return 1.0 / np.sqrt(1.0 - beta), beta / np.sqrt(1.0 - ab), float(sigma)


# ----- effective SNR of a link ----------------------------------------------------------


def effective_snr(link, gain=None, adc_noise: bool = True):
    """Es/N0 (ratio) a receiver sees after dividing by the known gain.

    Bjornson's distortion counts as noise of power ``kappa_t^2 + kappa_r^2`` (a ceiling
    independent of the SNR); with ``adc_noise`` the receive quantizer's uniform error
    (``step^2 / 12`` per real dimension) counts too. The transmit DAC is not noise: the
    model was trained on its (deterministic) output. ``gain``: per-symbol channel gains
    (fading); the thermal and quantizer noise are divided by ``|h|^2``, the distortion
    is not (it scales with the signal).
    """
    noise = link.n0
    if adc_noise and link.adc_bits:
        step = 2.0 * link.adc_full_scale / (1 << link.adc_bits)
        noise += 2.0 * step**2 / 12.0
    distortion = link.kappa_t**2 + link.kappa_r**2
    if gain is None:
        return 1.0 / (noise + distortion)
    power = np.maximum(np.abs(np.asarray(gain)) ** 2, 1e-30)
    return 1.0 / (noise / power + distortion)


# ----- the contract -------------------------------------------------------------------


@dataclass
class Contract:
    """The parsed, validated contract of a model file (see the module docstring)."""

    kind: str
    variant: str
    betas: list
    constellation: dict
    input_scale: float = math.sqrt(2.0)
    schedule: str = "sigmoid"
    prediction: str = "epsilon"
    training_link: dict = field(default_factory=dict)
    network: dict = field(default_factory=dict)
    ema: float | None = None
    training: dict = field(default_factory=dict)
    start: str = "matched"
    prior: str = "transmitted"
    decision: dict = field(default_factory=dict)
    format_version: int = FORMAT_VERSION
    path: str = ""

    @property
    def preset(self) -> str:
        """Name of the link preset the model was trained for (``paper`` when the
        training link is the case-study link of :mod:`wigenai.channel`)."""
        return str(self.training_link.get("preset", "paper"))

    @property
    def T(self) -> int:
        return len(self.betas)

    @property
    def input_width(self) -> int:
        return VARIANTS[self.variant]

    @property
    def points(self) -> np.ndarray:
        """Nominal constellation points (complex, unit average energy)."""
        pts = np.asarray(self.constellation["points"], dtype=np.float64)
        return pts[:, 0] + 1j * pts[:, 1]

    def diffusion(self) -> DiffusionSchedule:
        return DiffusionSchedule(self.betas, self.input_scale)

    def to_json(self) -> str:
        """The JSON stored in the model file (without the local ``path``)."""
        doc = asdict(self)
        doc.pop("path")
        doc["T"] = self.T
        width = self.input_width
        layout = ["re(x_t)", "im(x_t)"] + (["re(y)", "im(y)"] if width == 4 else [])
        doc["inputs"] = [
            {"name": "x", "dtype": "float32", "shape": ["B", width], "layout": layout},
            {"name": "t", "dtype": "int64", "shape": [], "layout": "step 0..T-1"},
        ]
        doc["outputs"] = [
            {
                "name": "eps",
                "dtype": "float32",
                "shape": ["B", 2],
                "layout": ["re(eps)", "im(eps)"],
            },
        ]
        return json.dumps(doc, sort_keys=True)


def constellation_entry(name: str, points: np.ndarray) -> dict:
    pts = np.asarray(points, dtype=np.complex128)
    return {
        "name": name,
        "order": int(pts.size),
        "points": [[float(p.real), float(p.imag)] for p in pts],
    }


def write_contract(onnx_path: str, contract: Contract) -> None:
    """Store ``contract`` in the metadata of the ONNX file at ``onnx_path`` (in place)."""
    import onnx

    model = onnx.load(onnx_path)
    kept = [p for p in model.metadata_props if p.key != METADATA_KEY]
    del model.metadata_props[:]
    model.metadata_props.extend(kept)
    entry = model.metadata_props.add()
    entry.key = METADATA_KEY
    entry.value = contract.to_json()
    onnx.save(model, onnx_path)


def _field_error(path: str, name: str, message: str) -> ValueError:
    return ValueError(f"{path}: contract field '{name}' {message}")


def _graph_input_width(model, path: str) -> int | None:
    inputs = {i.name: i for i in model.graph.input}
    if "x" not in inputs or "t" not in inputs:
        names = sorted(inputs)
        raise ValueError(f"{path}: graph inputs are {names}, expected ['t', 'x']")
    if "eps" not in {o.name for o in model.graph.output}:
        raise ValueError(f"{path}: graph has no output named 'eps'")
    dims = inputs["x"].type.tensor_type.shape.dim
    if len(dims) != 2:
        raise ValueError(f"{path}: input 'x' has rank {len(dims)}, expected 2")
    return dims[1].dim_value or None


def load_contract(path: str, kind: str | None = "denoiser") -> Contract:
    """Read and validate the contract of the model file ``path``.

    Parameters
    ----------
    path : str
        ONNX file written by ``wigenai train``.
    kind : str or None
        The kind the caller needs (``"denoiser"`` or ``"shaper"``); ``None`` accepts
        either.

    Raises
    ------
    FileNotFoundError
        No such file.
    ValueError
        Not an ONNX file, no contract, or a field that is missing, of an unknown
        version, of the wrong kind or inconsistent with the graph. The message names
        the file and the field.
    """
    import onnx

    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{path}: model file not found")
    try:
        model = onnx.load(path)
        onnx.checker.check_model(model)
    except Exception as err:  # protobuf raises several unrelated types
        raise ValueError(f"{path}: not a readable ONNX model ({err})") from None

    meta = {p.key: p.value for p in model.metadata_props}
    if METADATA_KEY not in meta:
        raise ValueError(f"{path}: no '{METADATA_KEY}' contract in the ONNX metadata")
    try:
        doc = json.loads(meta[METADATA_KEY])
    except json.JSONDecodeError as err:
        raise ValueError(f"{path}: contract is not valid JSON ({err})") from None
    if not isinstance(doc, dict):
        raise ValueError(f"{path}: contract is not a JSON object")

    contract = _parse_contract(doc, path, kind)
    width = _graph_input_width(model, path)
    if width is not None and width != contract.input_width:
        raise _field_error(
            path,
            "variant",
            f"is '{contract.variant}' ({contract.input_width} inputs) but input 'x' "
            f"has width {width}",
        )
    return contract


def _check_decision(decision, order: int, path: str) -> None:
    try:
        points = np.asarray(decision["points"], dtype=np.float64)
        labels = np.asarray(decision["labels"])
        ok = points.ndim == 2 and points.shape[1] == 2 and points.shape[0] >= 1
        ok = ok and labels.shape == (points.shape[0],)
        ok = ok and np.issubdtype(labels.dtype, np.integer)
        ok = ok and bool(np.all((labels >= 0) & (labels < order)))
        ok = ok and bool(np.all(np.isfinite(points)))
    except (KeyError, TypeError, ValueError):
        ok = False
    if not ok:
        raise _field_error(
            path,
            "decision",
            f"needs 'points' [[re, im], ...] and as many integer 'labels' 0..{order - 1}",
        )


def _parse_contract(doc: dict, path: str, kind: str | None) -> Contract:
    for name in ("format_version", "kind", "variant", "betas", "constellation"):
        if name not in doc:
            raise _field_error(path, name, "is missing")
    if doc["format_version"] != FORMAT_VERSION:
        raise _field_error(
            path,
            "format_version",
            f"is {doc['format_version']!r}, this version reads {FORMAT_VERSION}",
        )
    if doc["kind"] not in KINDS:
        raise _field_error(path, "kind", f"is {doc['kind']!r}, expected one of {KINDS}")
    if kind is not None and doc["kind"] != kind:
        raise _field_error(path, "kind", f"is '{doc['kind']}', expected '{kind}'")
    if doc["variant"] not in VARIANTS:
        raise _field_error(
            path, "variant", f"is {doc['variant']!r}, expected one of {sorted(VARIANTS)}"
        )
    if doc.get("prediction", "epsilon") != "epsilon":
        raise _field_error(
            path, "prediction", f"is {doc['prediction']!r}, expected 'epsilon'"
        )
    try:
        betas = check_betas(doc["betas"])
    except (TypeError, ValueError) as err:
        raise _field_error(path, "betas", f"is invalid: {err}") from None
    if "T" in doc and doc["T"] != betas.size:
        raise _field_error(path, "T", f"is {doc['T']} but there are {betas.size} betas")
    scale = doc.get("input_scale", math.sqrt(2.0))
    if not isinstance(scale, (int, float)) or not scale > 0 or not math.isfinite(scale):
        raise _field_error(path, "input_scale", f"is {scale!r}, expected a number > 0")
    const = doc["constellation"]
    try:
        points = np.asarray(const["points"], dtype=np.float64)
        ok = points.ndim == 2 and points.shape[1] == 2 and points.shape[0] >= 2
        ok = ok and int(const.get("order", points.shape[0])) == points.shape[0]
    except (KeyError, TypeError, ValueError):
        ok = False
    if not ok:
        raise _field_error(
            path, "constellation", "needs 'points' as [[re, im], ...] matching 'order'"
        )

    start = doc.get("start", "matched")
    if start not in STARTS or (start == "prior" and doc["variant"] != "conditional"):
        raise _field_error(
            path,
            "start",
            f"is {start!r}, expected 'matched', or 'prior' with variant 'conditional'",
        )
    if doc.get("prior", "transmitted") not in PRIORS:
        raise _field_error(
            path, "prior", f"is {doc['prior']!r}, expected one of {PRIORS}"
        )
    if doc.get("decision"):
        _check_decision(doc["decision"], len(const["points"]), path)
    known = {f for f in Contract.__dataclass_fields__ if f != "path"}
    values = {k: v for k, v in doc.items() if k in known}
    values["betas"] = [float(b) for b in betas]
    values["input_scale"] = float(scale)
    return Contract(**values, path=path)
