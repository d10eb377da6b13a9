"""Named channel profiles for scripts: a name and an SNR give a :class:`ChannelConfig`."""

from __future__ import annotations

import dataclasses

from ..config import ChannelConfig

PROFILES = {
    "awgn": ChannelConfig(),
    "fading": ChannelConfig(fading="rayleigh"),
    "multipath": ChannelConfig(multipath="tdl-medium", fading="rayleigh", cfo_ppm=10.0,
                               timing_offset_samples=0.37, sfo_ppm=5.0, phase_noise_linewidth_hz=50.0),
}


def channel_profile(name: str, snr_db: float | None) -> ChannelConfig:
    """``awgn``: noise only; ``fading``: flat Rayleigh block fading; ``multipath``: the
    medium tapped delay line with Rayleigh taps, 10 ppm CFO at 2.4 GHz, 5 ppm SFO, a fractional
    timing offset and 50 Hz phase noise. Block fading is redrawn on every call of the channel."""
    if name not in PROFILES:
        raise ValueError(f"channel profile {name!r}: allowed values are {', '.join(map(repr, PROFILES))}")
    return dataclasses.replace(PROFILES[name], snr_db=snr_db)
