"""Where the shipped models live, in a source checkout and after installation."""

from __future__ import annotations

import os
import sys
from pathlib import Path


def models_dir() -> Path:
    """The folder of the shipped ONNX models.

    Looked up in order: ``$WIGENAI_MODELS``; ``models/`` of the source checkout this
    package was imported from; ``<prefix>/share/gr-wigenai/models`` of the running
    interpreter (where ``cmake --install`` puts them).
    """
    env = os.environ.get("WIGENAI_MODELS")
    if env:
        return Path(env)
    checkout = Path(__file__).resolve().parents[2] / "models"
    if checkout.is_dir():
        return checkout
    return Path(sys.prefix) / "share" / "gr-wigenai" / "models"


def default_model(kind: str, modulation: str, link: str = "") -> Path:
    """Path of the shipped model of ``kind`` (``denoiser``, ``ae``) for a modulation.

    ``link`` names the link a model was trained for when it is not the paper's
    (``"burst"``: the over-the-air burst link, ``denoiser-16qam-burst.onnx``).
    """
    suffix = f"-{link}" if link else ""
    return models_dir() / f"{kind}-{modulation}{suffix}.onnx"
