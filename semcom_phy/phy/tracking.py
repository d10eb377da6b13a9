"""Pilot tracking through a frame: the common phase (residual CFO, phase noise) and the timing
drift of a sample-clock offset, jointly; and what the pilots say about the frame's integrity.

A sample-clock offset makes the FFT windows drift against the received symbols: symbol l is
seen ``tau_l`` samples late, which turns carrier k by ``-2 pi k tau_l / N`` on top of the common
phase ``phi_l``. Over a frame the drift is linear, ``tau_l = r t_l`` (t_l: the symbol's FFT
window, in samples from the channel estimate's reference, where the estimate itself holds the
timing), so the whole frame's pilots estimate r, and the per-symbol common phase follows on
pilots turned back by the drift.

Input
-----
u       : complex [B, S, P] received pilots divided by what the channel estimate predicts
          (``y conj(H p) / |H p|^2``): ``exp(j (phi_l - 2 pi k_p tau_l / N))`` plus noise
var     : float [B, P] noise variance of u (``(N0 + var_e) / |H_p|^2``)
carriers: int [P] pilot carrier indices; times : float [S] the t_l
fft_size: N; data_carriers : int [D] the carriers the reported error variance is for

Output
------
:class:`PilotTracking`
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

PHASE_SMOOTHING_SYMBOLS = 5
IMPAIRMENT_FLOOR = 1e-4    # the step test ignores pilot changes below -40 dB of the pilot power
MAX_SFO_PPM = 200.0        # no crystal is further off than this
SHRINK = 4.0               # the drift line is kept in full only beyond 2 sigmas of its estimation noise
STEP_LIMIT = 30.0          # a symbol-to-symbol pilot change this many times its noise: the frame is damaged


class PilotTracking(NamedTuple):
    """phase : float64 [B, S] common phase (rad); timing : float64 [B, S] drift tau_l (samples);
    rate : float64 [B] timing drift per sample (r: 1e-6 r is ppm, received symbols arriving later
    and later for r > 0); residual : float64 [B] mean over pilots and symbols of
    ``|u e^{-j(model)} - 1|^2 / var`` (about 1 when the model and the noise variance hold);
    step : float64 [B] the largest symbol-to-symbol change of the pilots (common phase removed
    per symbol) over its noise (about 3 for noise; a slip, a repeated or missing run of samples
    makes it jump: the frame is damaged above ``STEP_LIMIT``); error_var : float64 [B] the error
    variance the tracking's own estimates add to a unit-power symbol (the common phase's and the
    timing line's estimation noise, averaged over the data carriers and symbols)."""

    phase: np.ndarray
    timing: np.ndarray
    rate: np.ndarray
    residual: np.ndarray
    step: np.ndarray
    error_var: np.ndarray


def _smooth(phase: np.ndarray, smoothing: int) -> np.ndarray:
    """A linear trend over the frame plus a centred moving average of the rest over ``smoothing``
    symbols (shrinking at the edges): cuts the per-symbol estimation noise on long frames."""
    num = phase.shape[-1]
    if smoothing <= 1 or num < 3:
        return phase
    s = np.arange(num) - (num - 1) / 2
    slope = phase @ s / (s @ s)
    trend = phase.mean(axis=-1, keepdims=True) + slope[:, None] * s
    resid = phase - trend
    w = min(smoothing, num)
    csum = np.concatenate([np.zeros((phase.shape[0], 1)), np.cumsum(resid, axis=-1)], axis=-1)
    lo = np.clip(np.arange(num) - w // 2, 0, num)
    hi = np.clip(np.arange(num) + w - w // 2, 0, num)
    return trend + (csum[:, hi] - csum[:, lo]) / (hi - lo)


def _weighted_line(y: np.ndarray, t: np.ndarray, w: np.ndarray):
    """Weighted LS fit y ~ a + b t per row: y, w [B, S], t [S] -> (a [B], b [B])."""
    sw = w.sum(axis=1) + 1e-30
    tm = (w * t).sum(axis=1) / sw
    ym = (w * y).sum(axis=1) / sw
    dt = t - tm[:, None]
    b = (w * dt * (y - ym[:, None])).sum(axis=1) / np.maximum((w * dt * dt).sum(axis=1), 1e-30)
    return ym - b * tm, b


def track_pilots(u: np.ndarray, var: np.ndarray, carriers: np.ndarray, times: np.ndarray, fft_size: int,
                 data_carriers: np.ndarray, smoothing: int = PHASE_SMOOTHING_SYMBOLS, sfo: bool = True) -> PilotTracking:
    """Joint common-phase and timing-drift tracking (see the module doc; ``data_carriers``: int
    [D], the carriers the error variance is for); ``sfo=False`` tracks the common phase only."""
    u = u.astype(np.complex128)
    batch, num, _ = u.shape
    k = np.asarray(carriers, np.float64)
    w = 1.0 / np.maximum(var, 1e-30)                                   # [B, P]
    t = np.asarray(times, np.float64)
    two_pi_n = 2 * np.pi / fft_size
    timing = np.zeros((batch, num))
    rate = np.zeros(batch)
    timing_var = np.zeros(batch)
    if sfo and num >= 3:
        # coarse: consecutive-symbol products per pilot turn by d(phi) - 2 pi k_p r dt / N; their
        # phases across carriers give r without unwrapping (a drift of less than N / (2 k_max)
        # samples per symbol)
        c = np.sum(u[:, 1:] * np.conj(u[:, :-1]), axis=1)               # [B, P]
        dt = float(np.mean(np.diff(t)))
        _, b = _weighted_line(np.angle(c), k, np.abs(c) * w)
        rate = -b / (two_pi_n * dt)
        # fine: per-symbol timing from the pilots turned back by the drift so far (small phases
        # now), fitted by a line through t = 0 (the channel estimate's own timing: any offset
        # there is in the estimate already); twice, as the first fit may leave a pilot near +-pi
        wk = w * (k - (w * k).sum(1, keepdims=True) / w.sum(1, keepdims=True))      # [B, P] centred
        tt = t @ t
        for _ in range(2):
            v = u * np.exp(1j * two_pi_n * k * (rate[:, None] * t)[..., None])
            cpe = np.sum(w[:, None] * v, axis=-1)                                    # [B, S]
            psi = np.angle(v * np.conj(cpe)[..., None])                              # [B, S, P]
            tau = -np.einsum("bsp,bp->bs", psi, wk) / np.maximum(np.sum(wk * k, axis=1), 1e-30)[:, None] / two_pi_n
            step = tau @ t / tt
            rate = rate + step
        resid = tau - step[:, None] * t                                   # per-symbol timing about the line
        # the line's estimation noise: per-symbol timing variance over the pilots' spread in
        # carrier; a drift that does not stand out of its own noise by two sigmas (short frames,
        # no SFO) is shrunk towards none, so tracking it costs nothing where there is nothing
        # (the larger of what the pilots' noise implies and the scatter of the per-symbol timings
        # about the line: a fading channel's own changes are no drift); a drift beyond any
        # crystal's (``MAX_SFO_PPM``) is not one either
        tau_var = 1.0 / (2 * two_pi_n ** 2 * np.maximum(np.sum(wk * k, axis=1), 1e-30))     # [B]
        scatter = np.sum(resid ** 2, axis=1) / (num - 1)
        tau_var = np.maximum(tau_var, scatter)
        g = np.clip(1 - SHRINK * tau_var / tt / np.maximum(rate ** 2, 1e-300), 0, 1)
        g = np.where(np.abs(rate) <= MAX_SFO_PPM * 1e-6, g, 0.0)
        rate = rate * g
        timing = rate[:, None] * t
        timing_var = g * tau_var * np.mean(t ** 2) / tt
    v = u * np.exp(1j * two_pi_n * k * timing[..., None])
    raw = np.unwrap(np.angle(np.sum(w[:, None] * v, axis=-1)), axis=-1)
    phase = _smooth(raw, smoothing)
    err = v * np.exp(-1j * phase)[..., None] - 1.0
    residual = np.mean(np.abs(err) ** 2 * w[:, None], axis=(1, 2))
    # step: pilots with each symbol's own common phase removed, symbol to symbol, over the noise
    # (floored at -40 dB of the pilot power, so noiseless simulations do not flag float rounding)
    e = v * np.exp(-1j * raw)[..., None]
    w_floor = 1.0 / np.maximum(var, IMPAIRMENT_FLOOR)
    step = np.zeros(batch)
    if num >= 2:
        step = np.max(np.sum(np.abs(np.diff(e, axis=1)) ** 2 * w_floor[:, None], axis=-1), axis=1) / 2
    # what the estimates add to a unit-power symbol on carrier k: the common phase (one symbol's
    # pilots, smoothed over ``smoothing`` symbols) and the timing line (2 pi k / N)^2 var_tau
    phase_var = 1.0 / (2 * np.sum(w, axis=1) * min(max(smoothing, 1), num))
    error_var = phase_var + two_pi_n ** 2 * float(np.mean(np.square(data_carriers))) * timing_var
    return PilotTracking(phase, timing, rate, residual, step, error_var)
