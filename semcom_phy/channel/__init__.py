"""Simulated channel: impairments as pure functions over complex64 streams, and the chain
that applies a :class:`~semcom_phy.config.ChannelConfig` (one-shot or streamed in chunks)."""

from .chain import SimChannel, apply_channel
from .profiles import PROFILES, channel_profile
from .impairments import (
    INTERP_HALF_WIDTH_SAMPLES,
    INTERP_NUM_PHASES,
    awgn,
    dc_offset,
    fading_gains,
    fractional_delay,
    frequency_offset,
    image_rejection_ratio_db,
    iq_imbalance,
    multipath,
    noise_variance,
    phase_noise,
    phase_noise_process,
    rms_delay_spread_samples,
    sample_rate_offset,
    sfo_num_outputs,
    tdl_profile,
)

__all__ = [
    "PROFILES",
    "channel_profile",
    "SimChannel",
    "apply_channel",
    "INTERP_HALF_WIDTH_SAMPLES",
    "INTERP_NUM_PHASES",
    "awgn",
    "dc_offset",
    "fading_gains",
    "fractional_delay",
    "frequency_offset",
    "image_rejection_ratio_db",
    "iq_imbalance",
    "multipath",
    "noise_variance",
    "phase_noise",
    "phase_noise_process",
    "rms_delay_spread_samples",
    "sample_rate_offset",
    "sfo_num_outputs",
    "tdl_profile",
]
