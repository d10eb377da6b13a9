"""Channel estimation from OFDM symbols whose resource elements are known (LTF copies, headers).

An estimator is any callable ``estimator(y, known, cfg, lags) -> ChannelEstimate`` (Sionna's
``LSChannelEstimator`` plays the same part); :class:`LSEstimator` and :class:`SmoothedEstimator`
are the two the receiver ships (``ModemConfig.channel_estimator``: ``"ls"``, ``"smoothed"``).

Input
-----
y      : complex64 [B, S, N] received symbols (FFT bin order, transmitter RE units), S >= 2
known  : complex [B or 1, S, N] what was sent, unit modulus on the used carriers
lags   : (int64 [B], int64 [B]) or None, the delay taps (samples from the FFT window start) the
         channel may occupy, ``lo <= l < hi``; None: any tap in [-4, 2 CP + 2)

Output
------
:class:`ChannelEstimate`
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from ..config import OfdmConfig

TAP_KEEP_FACTOR = 6.0      # keep a delay tap when |h|^2 > factor * its noise variance


@dataclass(frozen=True)
class ChannelEstimate:
    """h : complex64 [B, N_used] channel on the used carriers; noise_var [B] RE noise variance;
    error_var [B] variance of the estimation error per carrier; num_taps [B]."""

    h: np.ndarray
    noise_var: np.ndarray
    error_var: np.ndarray
    num_taps: np.ndarray

    def select(self, idx: np.ndarray) -> "ChannelEstimate":
        """The estimates of frames ``idx``."""
        return ChannelEstimate(self.h[idx], self.noise_var[idx], self.error_var[idx], self.num_taps[idx])

    @staticmethod
    def concat(parts: list["ChannelEstimate"]) -> "ChannelEstimate":
        return ChannelEstimate(*(np.concatenate([getattr(p, f) for p in parts])
                                 for f in ("h", "noise_var", "error_var", "num_taps")))


def _ls(y: np.ndarray, known: np.ndarray, cfg: OfdmConfig):
    """Per-carrier LS estimate (mean over the S symbols) and the noise variance from their spread."""
    bins = cfg.fft_bins(cfg.used_carriers)
    obs = y[..., bins] * np.conj(known[..., bins])          # [B, S, N_used]: H + noise (|known| = 1)
    num = obs.shape[1]
    h_ls = obs.mean(axis=1)
    noise_var = np.mean(np.abs(obs - h_ls[:, None]) ** 2, axis=(1, 2)) * num / (num - 1)
    # floor at 100 dB below the signal: a noiseless simulation still yields finite LLRs
    noise_var = np.maximum(noise_var, 1e-10 * np.mean(np.abs(h_ls) ** 2, axis=1) + 1e-30)
    return h_ls, noise_var, num


class LSEstimator:
    """Per-carrier least squares: ``H_k = mean_s y_sk conj(x_sk)``; error ``noise_var / S``."""

    def __call__(self, y: np.ndarray, known: np.ndarray, cfg: OfdmConfig, lags=None) -> "ChannelEstimate":
        h_ls, noise_var, num = _ls(y, known, cfg)
        return ChannelEstimate(h_ls.astype(np.complex64), noise_var, noise_var / num,
                               np.full(h_ls.shape[0], h_ls.shape[1]))


class SmoothedEstimator:
    """The LS estimate projected on the few delay taps that explain it,
    ``H_k = sum_l h_l exp(-j 2 pi k l / N)``, chosen greedily (orthogonal matching pursuit) among
    ``lags`` while the best remaining tap's correlation power exceeds ``keep_factor`` times its
    noise variance. This interpolates across carriers and leaves an estimation error of
    ``noise_var / S * num_taps / N_used`` (plus the channel the kept taps leave out) instead of
    ``noise_var / S``."""

    def __init__(self, keep_factor: float = TAP_KEEP_FACTOR):
        self.keep_factor = keep_factor

    def __call__(self, y: np.ndarray, known: np.ndarray, cfg: OfdmConfig, lags=None) -> "ChannelEstimate":
        h_ls, noise_var, num = _ls(y, known, cfg)
        batch, n_used = h_ls.shape
        tap_lags, basis = _tap_basis(cfg)                  # [T], [N_used, T]
        allowed = np.ones((batch, tap_lags.size), bool)
        if lags is not None:
            allowed = (tap_lags >= np.asarray(lags[0])[:, None]) & (tap_lags < np.asarray(lags[1])[:, None])
        gram = np.conj(basis.T) @ basis
        proj = h_ls @ np.conj(basis)                       # [B, T] = basis^H h_ls
        threshold = self.keep_factor * (noise_var / num) / n_used
        keep = np.zeros((batch, basis.shape[1]), bool)
        order = np.zeros((batch, basis.shape[1]), np.int64)   # kept taps, in the order found
        active = np.ones(batch, bool)
        resid, h = h_ls.copy(), np.zeros_like(h_ls)
        for it in range(basis.shape[1]):
            # every active frame holds exactly ``it`` taps and tries to add one more
            act = np.flatnonzero(active)
            power = np.abs(resid[act] @ np.conj(basis) / n_used) ** 2
            power[keep[act] | ~allowed[act]] = -1.0
            best = np.argmax(power, axis=1)
            grow = (power[np.arange(act.size), best] > threshold[act]) | (it == 0)
            active[act[~grow]] = False
            act, best = act[grow], best[grow]
            if not act.size:
                break
            keep[act, best] = True
            order[act, it] = best
            # LS on the kept taps: [A, k, k] normal equations (tiny ridge for near-dependent taps)
            idx = order[act, :it + 1]
            system = gram[idx[:, :, None], idx[:, None, :]] + 1e-9 * n_used * np.eye(it + 1)
            taps = np.linalg.solve(system, np.take_along_axis(proj[act], idx, axis=1)[..., None])[..., 0]
            h[act] = np.einsum("ak,akn->an", taps, basis.T[idx])
            resid[act] = h_ls[act] - h[act]
        num_taps = keep.sum(axis=1)
        # the error: noise on the kept taps, plus the channel the kept taps leave out, which is what
        # the residual holds beyond the noise it must hold (N_used - taps of N_used dimensions of noise)
        ls_var = noise_var / num
        missed = np.maximum(np.mean(np.abs(resid) ** 2, axis=1) - ls_var * (n_used - num_taps) / n_used, 0.0)
        return ChannelEstimate(h.astype(np.complex64), noise_var, ls_var * num_taps / n_used + missed, num_taps)


ESTIMATORS = {"ls": LSEstimator, "smoothed": SmoothedEstimator}


def estimate_channel(y: np.ndarray, known: np.ndarray, cfg: OfdmConfig, method: str = "smoothed",
                     lags=None) -> ChannelEstimate:
    """The estimate of ``ESTIMATORS[method]`` (see the module doc for the arguments)."""
    return ESTIMATORS[method]()(y, known, cfg, lags)


@functools.lru_cache(maxsize=8)
def _tap_basis(cfg: OfdmConfig) -> tuple[np.ndarray, np.ndarray]:
    """Candidate taps l in [-4, 2 CP + 2) (int64 [T]) and complex128 [N_used, T]:
    exp(-j 2 pi k l / N) for used carriers k."""
    lags = np.arange(-4, 2 * cfg.cp_length_samples + 2)
    return lags, np.exp(-2j * np.pi * np.outer(cfg.used_carriers, lags) / cfg.fft_size)
