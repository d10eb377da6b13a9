"""One-tap equalisation with pilot tracking.

An equalizer is any callable ``equalizer(y, h, noise) -> (x, no_eff)`` (Sionna's
``LMMSEEqualizer`` plays the same part); :class:`ZFEqualizer` and :class:`MMSEEqualizer` are the
two the receiver ships (``ModemConfig.equalizer``):

Input
-----
y     : complex64 [B, S, D] received data REs
h     : complex64 [B, D] channel estimate on the data carriers
noise : float32 [B] noise plus estimation-error variance per RE, ``N0' = N0 + var_e``

Output
------
x      : complex64 [B, S, D] equalised symbols
no_eff : float32 [B, 1, D] effective noise variance per symbol
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..config import OfdmConfig
from .estimation import ChannelEstimate
from .ofdm import pilot_values
from .sync import phasor
from .tracking import PHASE_SMOOTHING_SYMBOLS, PilotTracking, track_pilots


class ZFEqualizer:
    """``x = y / H``, ``no_eff = N0' / |H|^2`` (unbiased)."""

    def __call__(self, y, h, noise):
        gain = h.real ** 2 + h.imag ** 2
        x = y * (np.conj(h) / np.maximum(gain, np.float32(1e-30)))[:, None, :]
        return x, (noise[:, None] / np.maximum(gain, np.float32(1e-30)))[:, None, :]


class MMSEEqualizer:
    """``x = conj(H) y / (|H|^2 + N0')``, ``no_eff = N0' / (|H|^2 + N0')`` (the MMSE error variance)."""

    def __call__(self, y, h, noise):
        denom = h.real ** 2 + h.imag ** 2 + noise[:, None]
        x = y * (np.conj(h) / np.maximum(denom, np.float32(1e-30)))[:, None, :]
        return x, (noise[:, None] / np.maximum(denom, np.float32(1e-30)))[:, None, :]


EQUALIZERS = {"zf": ZFEqualizer, "mmse": MMSEEqualizer}


class Equalized(NamedTuple):
    """x complex64 [B, S, D]; no_eff float32 [B, 1, D] before the tracking check (see
    :func:`equalize`); tracking: :class:`~semcom_phy.phy.tracking.PilotTracking` (None untracked)."""

    x: np.ndarray
    no_eff: np.ndarray
    tracking: PilotTracking | None


def equalize(y: np.ndarray, est: ChannelEstimate, cfg: OfdmConfig, equalizer="zf", first_symbol: int = 0,
             rotation: np.ndarray | None = None, times: np.ndarray | None = None,
             smoothing: int = PHASE_SMOOTHING_SYMBOLS, sfo: bool = True) -> Equalized:
    """Pilot tracking and one-tap equalisation of OFDM symbols.

    y        : complex64 [B, S, N] received symbols (FFT bin order); symbol s carries the pilots
               of frame symbol ``first_symbol + s``
    est      : the channel estimate (its noise and error variance make ``N0'``)
    equalizer: a name of ``EQUALIZERS`` or an equalizer callable (module doc)
    rotation : complex [B, S] or None, a known common phasor per symbol applied first (the
               per-symbol part of a CFO correction commutes with the FFT)
    times    : float [S] or None, each symbol's FFT window in samples from the channel
               estimate's reference: tracks the common phase and the timing drift (SFO) from the
               pilots (the common phase only with ``sfo=False``: a few symbols, such as a
               header, see no drift); None applies ``rotation`` only
    """
    eq = EQUALIZERS[equalizer]() if isinstance(equalizer, str) else equalizer
    pil = np.searchsorted(cfg.used_carriers, cfg.pilot_carriers)
    dat = np.searchsorted(cfg.used_carriers, cfg.data_carriers)
    noise = (est.noise_var + est.error_var).astype(np.float32)
    x, no_eff = eq(np.take(y, cfg.fft_bins(cfg.data_carriers), axis=-1), est.h[:, dat], noise)
    track = None
    if times is not None:
        rot = np.ones(y.shape[:2], np.complex64) if rotation is None else rotation
        hp = est.h[:, pil]                                                  # [B, P]
        ref = hp[:, None] * pilot_values(cfg, y.shape[1], first_symbol)[None]
        gain = np.maximum(np.abs(hp) ** 2, 1e-30)
        u = np.take(y, cfg.fft_bins(cfg.pilot_carriers), axis=-1) * rot[..., None] * np.conj(ref) / gain[:, None]
        track = track_pilots(u, noise[:, None] / gain, cfg.pilot_carriers, times, cfg.fft_size, cfg.data_carriers,
                             smoothing, sfo)
        # one factor per RE: the known rotation (its gain too), the common phase and the timing
        # drift's carrier slope, as one complex exponential
        angle = np.mod(np.angle(rot) - track.phase, 2 * np.pi).astype(np.float32)[..., None]   # [B, S, 1]
        if np.any(track.timing):
            slope = (2 * np.pi / cfg.fft_size * track.timing).astype(np.float32)[..., None]
            angle = angle + slope * cfg.data_carriers.astype(np.float32)                       # [B, S, D]
        x *= phasor(angle, np.abs(rot).astype(np.float32)[..., None])
    elif rotation is not None:
        x *= rotation.astype(np.complex64)[..., None]
    return Equalized(x.astype(np.complex64, copy=False), no_eff.astype(np.float32), track)
