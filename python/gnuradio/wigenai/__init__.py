"""GNU Radio blocks of gr-wigenai.

The C++ blocks come from the compiled extension ``wigenai_python``; Python blocks live
next to this file. The signal models they implement are in the pure-Python library
``wigenai`` (for example ``wigenai.channel`` for ``hwi_channel_cc``).
"""

from .burst_decoder import burst_decoder  # noqa: F401
from .burst_sync import burst_sync  # noqa: F401
from .burst_tx import burst_tx  # noqa: F401
from .ccdm_dematcher import ccdm_dematcher  # noqa: F401
from .ddpm_denoiser import ddpm_denoiser  # noqa: F401
from .ddpm_shaper import ddpm_shaper  # noqa: F401
from .iq_imbalance import iq_imbalance  # noqa: F401
from .pa_model import pa_model  # noqa: F401
from .sigmf_sink import sigmf_sink  # noqa: F401
from .structured_channel import structured_channel  # noqa: F401
from .wigenai_python import *  # noqa: F401,F403
