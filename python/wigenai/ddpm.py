"""The denoising network of the paper (torch), its weight average, samplers and export.

Network (the paper's "3 conditional hidden layers of 128 units, Softplus, time-step
embedding, linear output"): each hidden layer computes
``softplus(Linear(h) * E[t])`` where ``E`` is a learned ``Embedding(T, width)`` table
(a multiplicative gate per time step), and a final ``Linear(width, 2)`` predicts the
noise epsilon of one complex symbol (real and imaginary part). The unconditional
variant sees ``x_t`` (2 reals); the conditional variant also sees the scaled received
sample (4 reals).

Softplus is written as ``relu(x) + log1p(exp(-|x|))``: the exported graph then uses
Relu/Abs/Exp/Log nodes, about four times faster in onnxruntime on a CPU than its
Softplus kernel, and it is the one implementation used in training, export and
inference.

The torch samplers here are the reference that the numpy/onnxruntime samplers of
:mod:`wigenai.ort_sampler` are tested against; both take the schedule math (step
sequence, start state) from :class:`wigenai.model_contract.DiffusionSchedule`.
"""

from __future__ import annotations

import copy
import logging
import os
import tempfile
import warnings

import numpy as np
import torch
from torch import nn

from .model_contract import DDIM_SPACING, Contract, DiffusionSchedule, write_contract
from .ort_sampler import ddim_chain, ddpm_chain

log = logging.getLogger(__name__)


def softplus(x: torch.Tensor) -> torch.Tensor:
    """Numerically stable softplus from Relu, Abs, Exp and Log (see module docstring)."""
    return torch.relu(x) + torch.log1p(torch.exp(-torch.abs(x)))


class TimeGatedLayer(nn.Module):
    """``softplus(Linear(x) * gate[t])`` with a learned gate row per diffusion step."""

    def __init__(self, in_features: int, out_features: int, steps: int):
        super().__init__()
        self.linear = nn.Linear(in_features, out_features)
        self.gate = nn.Embedding(steps, out_features)
        # Gates start around 1 (uniform 0.5..1.5): every step begins close to one plain
        # MLP layer, and the spread lets the steps' gates part from the first update.
        nn.init.uniform_(self.gate.weight, 0.5, 1.5)

    def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        # t is a scalar (one step for the batch: gate is (width,), broadcast over rows)
        # or a (B,) vector in training (gate is (B, width)).
        return softplus(self.linear(x) * self.gate(t))


class EpsilonNetwork(nn.Module):
    """Predicts the noise of ``x_t`` at step ``t``.

    Parameters
    ----------
    steps : int
        T, the number of diffusion steps (rows of each gate table).
    in_features : int
        2 (unconditional: ``x_t``) or 4 (conditional: ``x_t`` and the received sample).
    hidden : int
        Width of each hidden layer (paper: 128).
    layers : int
        Number of time-gated hidden layers (paper: 3).

    Input ``x``: float32 (B, in_features); ``t``: int64 scalar or (B,).
    Output: float32 (B, 2), epsilon for the real and imaginary part.
    """

    def __init__(
        self, steps: int, in_features: int = 2, hidden: int = 128, layers: int = 3
    ):
        super().__init__()
        if in_features not in (2, 4):
            raise ValueError(f"in_features: expected 2 or 4, got {in_features}")
        if layers < 1 or hidden < 1:
            raise ValueError(f"layers and hidden must be >= 1, got {layers}, {hidden}")
        widths = [in_features] + [hidden] * layers
        self.hidden = nn.ModuleList(
            TimeGatedLayer(w_in, w_out, steps)
            for w_in, w_out in zip(widths[:-1], widths[1:], strict=True)
        )
        self.out = nn.Linear(hidden, 2)
        self.steps = int(steps)
        self.in_features = int(in_features)

    def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        h = x
        for layer in self.hidden:
            h = layer(h, t)
        return self.out(h)


class Ema:
    """Exponential moving average of a model's parameters.

    ``shadow = decay * shadow + (1 - decay) * param`` after every optimizer step; the
    averaged copy (:attr:`model`) is the one exported, because the x0 estimate divides
    the epsilon error by ``sqrt(abar_t)`` (large at low SNR) and averaging removes
    much of the step-to-step jitter of the raw weights.
    """

    def __init__(self, model: nn.Module, decay: float):
        if not 0.0 <= decay < 1.0:
            raise ValueError(f"ema_decay: expected a value in [0, 1), got {decay}")
        self.decay = float(decay)
        self.model = copy.deepcopy(model).eval()
        for p in self.model.parameters():
            p.requires_grad_(False)

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        pairs = zip(self.model.parameters(), model.parameters(), strict=True)
        for shadow, param in pairs:
            shadow.lerp_(param.detach(), 1.0 - self.decay)


# ----- samplers on the torch network ---------------------------------------------------
# The reverse chains themselves live once, in ``wigenai.ort_sampler`` (numpy, no torch);
# here they run with the torch network as the epsilon function, so that tests can
# prove the ONNX graph and the torch model give the same decisions end to end.


def torch_eps_fn(model: EpsilonNetwork):
    """``eps_fn(x, t)`` for the chains of ``wigenai.ort_sampler``: one torch call."""

    @torch.no_grad()
    def eps(x: np.ndarray, t: int) -> np.ndarray:
        x_in = torch.as_tensor(np.asarray(x, dtype=np.float32))
        return model(x_in, torch.tensor(int(t))).double().numpy()

    return eps


def sample_ddim(
    model: EpsilonNetwork,
    schedule: DiffusionSchedule,
    x_start: np.ndarray,
    t_start: int,
    steps: int,
    cond: np.ndarray | None = None,
    spacing: float = DDIM_SPACING,
) -> np.ndarray:
    """Deterministic DDIM with the torch network (see ``ort_sampler.ddim_chain``)."""
    return ddim_chain(
        torch_eps_fn(model), schedule, x_start, t_start, steps, cond, spacing
    )


def sample_ddpm(
    model: EpsilonNetwork,
    schedule: DiffusionSchedule,
    x_start: np.ndarray,
    t_start: int,
    noise,
    cond: np.ndarray | None = None,
) -> np.ndarray:
    """Ancestral DDPM with the torch network (see ``ort_sampler.ddpm_chain``)."""
    return ddpm_chain(torch_eps_fn(model), schedule, x_start, t_start, noise, cond)


# ----- ONNX export --------------------------------------------------------------------


def export_onnx(model: EpsilonNetwork, contract: Contract, path: str) -> None:
    """Write ``model`` as ONNX (opset 17, dynamic batch) with ``contract`` inside.

    Graph: ``x`` float32 (B, in_features), ``t`` int64 scalar, ``eps`` float32 (B, 2).
    The file is written next to ``path`` and renamed, so a reader never sees half a
    model.
    """
    model = copy.deepcopy(model).float().eval()
    x = torch.zeros(4, model.in_features)
    t = torch.tensor(0, dtype=torch.int64)
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(suffix=".onnx", dir=folder)
    os.close(fd)
    try:
        # TODO: move to the torch.export-based exporter once onnxscript is part of
        # requirements.txt; until then the TorchScript exporter is the one that runs
        # here, and its deprecation notice says nothing the user can act on.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            torch.onnx.export(
                model,
                (x, t),
                tmp,
                input_names=["x", "t"],
                output_names=["eps"],
                dynamic_axes={"x": {0: "B"}, "eps": {0: "B"}},
                opset_version=17,
                dynamo=False,
            )
        write_contract(tmp, contract)
        os.chmod(tmp, 0o644)  # mkstemp makes it private; a model is a shipped file
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    log.info("wrote %s (%.0f kB)", path, os.path.getsize(path) / 1e3)
