"""The simulated channel: :class:`~semcom_phy.config.ChannelConfig` applied to a sample stream.

Stages, in the physical order of a real link, each skipped when its setting is trivial:

1. multipath + fading: tapped delay line ``cfg.multipath`` (:func:`tdl_profile`) with per-tap
   gains sqrt(power) x :func:`fading_gains` (``cfg.fading``, ``cfg.rician_k_db``,
   ``cfg.doppler_hz``). ``multipath="none"`` with fading is flat fading (one tap); a profile
   with ``fading="none"`` is a static TDL with real amplitudes sqrt(power).
   ``cfg.doppler_hz`` only matters with fading.
2. timing offset ``cfg.timing_offset_samples`` (:func:`fractional_delay`)
3. sample-rate offset ``cfg.sfo_ppm`` (:func:`sample_rate_offset`)
4. AWGN at ``cfg.snr_db`` (Es/N0 per resource element, :func:`noise_variance`); none if None
5. carrier frequency offset ``cfg.total_cfo_hz`` at ``ofdm.sample_rate_hz``
6. Wiener phase noise ``cfg.phase_noise_linewidth_hz``
7. receiver IQ imbalance ``cfg.iq_gain_imbalance_db``, ``cfg.iq_phase_imbalance_deg``
8. DC offset ``cfg.dc_offset`` at ``cfg.dc_offset_phase_deg``

:func:`apply_channel` treats its input as a whole stream; :class:`SimChannel` applies the
same chain to a stream pushed in chunks.
"""

from __future__ import annotations

import math

import numpy as np

from ..config import ChannelConfig, OfdmConfig
from ..validation import check_number, check_rng
from .impairments import (
    INTERP_HALF_WIDTH_SAMPLES,
    _as_c64,
    _delay_times,
    _interp_at,
    _rotate,
    _sfo_times,
    awgn,
    dc_offset,
    fading_gains,
    fractional_delay,
    frequency_offset,
    iq_imbalance,
    multipath,
    noise_variance,
    phase_noise_process,
    sample_rate_offset,
    sfo_num_outputs,
    tdl_profile,
)

__all__ = ["apply_channel", "SimChannel"]


def _check_args(cfg, ofdm, rng, signal_power) -> float:
    """Validate the common arguments and the cfg/ofdm combination; returns signal_power."""
    if not isinstance(cfg, ChannelConfig):
        raise ValueError(f"cfg = {cfg!r}: must be a ChannelConfig")
    if not isinstance(ofdm, OfdmConfig):
        raise ValueError(f"ofdm = {ofdm!r}: must be an OfdmConfig")
    check_rng(rng)
    signal_power = check_number(signal_power, "signal_power", 0.0, lo_open=True)
    nyquist_hz = ofdm.sample_rate_hz / 2
    if cfg.fading != "none" and cfg.doppler_hz >= nyquist_hz:
        raise ValueError(f"ChannelConfig.doppler_hz = {cfg.doppler_hz!r} is out of range for "
                         f"OfdmConfig.sample_rate_hz = {ofdm.sample_rate_hz:g}: allowed [0, {nyquist_hz:g})")
    if abs(cfg.total_cfo_hz) >= nyquist_hz:
        raise ValueError(f"ChannelConfig.total_cfo_hz = {cfg.total_cfo_hz!r} (cfo_hz + cfo_ppm * "
                         f"carrier_frequency_hz) is out of range for OfdmConfig.sample_rate_hz = "
                         f"{ofdm.sample_rate_hz:g}: allowed (-{nyquist_hz:g}, {nyquist_hz:g})")
    return signal_power


def _has_multipath(cfg: ChannelConfig) -> bool:
    return cfg.multipath != "none" or cfg.fading != "none"


def _tap_gains(cfg: ChannelConfig, ofdm: OfdmConfig, num_samples: int, rng: np.random.Generator,
               start_sample: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(delays int64 [L], gains complex64 [L, 1] or [L, num_samples]) of the multipath stage."""
    delays, powers = tdl_profile(cfg.multipath)
    fading = fading_gains(delays.size, num_samples, cfg.fading, rng, k_factor_db=cfg.rician_k_db,
                          doppler_hz=cfg.doppler_hz, sample_rate_hz=ofdm.sample_rate_hz,
                          start_sample=start_sample)
    fading *= np.sqrt(powers).astype(np.float32)[:, None]
    return delays, fading


def apply_channel(x, cfg: ChannelConfig, ofdm: OfdmConfig, rng: np.random.Generator, *,
                  signal_power: float = 1.0) -> np.ndarray:
    """Pass a whole stream through the simulated channel (stages in the module docstring).

    x            : complex [N], cast to complex64; the stream is zero before and after it
    cfg          : ChannelConfig
    ofdm         : OfdmConfig (sample rate, FFT size and used carriers for the SNR)
    rng          : numpy Generator; the same seed gives the same output
    signal_power : float > 0, mean power of the transmitted samples (the SNR reference)
    returns complex64 [M]: M = N, plus ceil(cfg.timing_offset_samples) with a timing offset,
            then resampled to :func:`sfo_num_outputs` (M, cfg.sfo_ppm) with an SFO. A default
            ``ChannelConfig()`` returns an exact copy of x.

    Fading is one block realisation for the whole call (``doppler_hz == 0``) or one
    continuous Doppler process starting at sample 0.
    """
    y = _as_c64(x)
    signal_power = _check_args(cfg, ofdm, rng, signal_power)
    if _has_multipath(cfg):
        delays, gains = _tap_gains(cfg, ofdm, y.size, rng)
        y = multipath(y, delays, gains)
    if cfg.timing_offset_samples > 0:
        y = fractional_delay(y, cfg.timing_offset_samples)
    if cfg.sfo_ppm != 0:
        y = sample_rate_offset(y, cfg.sfo_ppm)
    noise_var = None if cfg.snr_db is None else noise_variance(cfg.snr_db, ofdm, signal_power)
    y, _ = _receiver_stages(y, cfg, ofdm.sample_rate_hz, noise_var, rng)
    return y.copy() if y is x else y


def _receiver_stages(y: np.ndarray, cfg: ChannelConfig, fs: float, noise_var: float | None,
                     rng: np.random.Generator, start_sample: int = 0,
                     phase0_rad: float = 0.0) -> tuple[np.ndarray, float]:
    """AWGN, CFO, phase noise, IQ imbalance and DC offset on samples that start at stream index
    ``start_sample`` with oscillator phase ``phase0_rad``; returns (y, phase after the last)."""
    if noise_var is not None:
        y = awgn(y, noise_var, rng)
    if cfg.total_cfo_hz != 0:
        y = frequency_offset(y, cfg.total_cfo_hz, fs, start_sample=start_sample)
    if cfg.phase_noise_linewidth_hz > 0:
        phase = phase_noise_process(y.size, cfg.phase_noise_linewidth_hz, fs, rng, phase0_rad)
        if y.size:
            phase0_rad = float(phase[-1])
            y = _rotate(y, phase)
    if cfg.iq_gain_imbalance_db != 0 or cfg.iq_phase_imbalance_deg != 0:
        y = iq_imbalance(y, cfg.iq_gain_imbalance_db, cfg.iq_phase_imbalance_deg)
    if cfg.dc_offset > 0:
        y = dc_offset(y, cfg.dc_offset, cfg.dc_offset_phase_deg)
    return y, phase0_rad


class _StreamResampler:
    """Streaming form of an interpolating stage: output m is the input stream at times(m).

    ``push`` emits every output whose whole interpolation window has arrived; ``flush`` ends
    the stream (zeros after it) and emits the rest, up to ``num_outputs(total_inputs)`` outputs
    in all, exactly as the one-shot function would.
    """

    def __init__(self, times, num_outputs):
        self._times = times               # float64 [m] -> float64 [m], increasing
        self._num_outputs = num_outputs   # total inputs -> total outputs of the one-shot stage
        self._buf = np.zeros(0, np.complex64)
        self._buf_start = 0               # stream index of self._buf[0]
        self._num_in = 0
        self._next_out = 0

    def _count_before(self, limit: float) -> int:
        """Number of outputs m >= 0 with times(m) < limit (times is increasing)."""
        lo, hi = self._next_out, max(self._next_out, 1)
        while self._times(np.float64(hi)) < limit:
            lo, hi = hi, 2 * hi
        while lo < hi:                    # first m in [lo, hi] with times(m) >= limit
            mid = (lo + hi) // 2
            if self._times(np.float64(mid)) < limit:
                lo = mid + 1
            else:
                hi = mid
        return lo

    def push(self, x: np.ndarray, final: bool = False) -> np.ndarray:
        self._buf = np.concatenate([self._buf, x])
        self._num_in += x.size
        if final:
            end = self._num_outputs(self._num_in)
        else:   # window of output m: floor(t_m) - W + 1 .. floor(t_m) + W, all received
            end = self._count_before(self._num_in - INTERP_HALF_WIDTH_SAMPLES)
        end = max(end, self._next_out)
        m = np.arange(self._next_out, end, dtype=np.float64)
        y = _interp_at(self._buf, self._times(m), self._buf_start)
        self._next_out = end
        # drop inputs that no later output can reach
        keep_from = math.floor(self._times(np.float64(end))) - INTERP_HALF_WIDTH_SAMPLES + 1
        drop = min(max(keep_from - self._buf_start, 0), self._buf.size)
        self._buf = self._buf[drop:]
        self._buf_start += drop
        return y


class SimChannel:
    """The simulated channel as a stateful stream processor: ``y = chan(x)`` chunk by chunk.

    Concatenating the outputs of successive calls (and :meth:`flush`) gives the stream
    :func:`apply_channel` would produce on the concatenated input, with these differences in
    the random stages (the deterministic ones match to float rounding):

    * multipath: the delay line keeps the previous chunk's last samples, so echoes cross
      chunk boundaries. Block fading (``doppler_hz == 0``) draws a new realisation on every
      call; a Doppler process is drawn once (at construction and at :meth:`reset`) and
      continues across calls.
    * timing offset and SFO run as streaming interpolators: each call returns the outputs
      whose interpolation window (16 samples ahead) has arrived, so with either of them a call
      may return fewer samples than it got; :meth:`flush` returns the rest.
    * CFO and phase-noise phases are continuous across calls (running sample count and phase).
    * AWGN and phase noise draw from ``rng`` call by call, so their values differ from one
      :func:`apply_channel` call with the same seed.

    cfg          : ChannelConfig
    ofdm         : OfdmConfig
    rng          : numpy Generator (the only source of randomness)
    signal_power : float > 0, mean power of the transmitted samples (the SNR reference)
    ``__call__(x : complex [N]) -> complex64 [M]``; without timing offset or SFO, M = N.
    """

    def __init__(self, cfg: ChannelConfig, ofdm: OfdmConfig, rng: np.random.Generator,
                 signal_power: float = 1.0):
        self.signal_power = _check_args(cfg, ofdm, rng, signal_power)
        self.cfg, self.ofdm, self.rng = cfg, ofdm, rng
        self._noise_var = (None if cfg.snr_db is None
                           else noise_variance(cfg.snr_db, ofdm, self.signal_power))
        self.reset()

    def reset(self) -> None:
        """Start a new stream: time back to 0, buffers and phases cleared, new Doppler draw."""
        cfg = self.cfg
        self._num_in = 0            # input samples received (multipath / Doppler time)
        self._num_out = 0           # samples emitted (CFO time)
        self._phase_noise_rad = 0.0
        self._delays = tdl_profile(cfg.multipath)[0]
        self._tail = np.zeros(int(self._delays.max()), np.complex64)
        self._doppler_seed = (int(self.rng.integers(2 ** 63)) if cfg.fading != "none"
                              and cfg.doppler_hz > 0 else None)
        self._stages = []
        tau = cfg.timing_offset_samples
        if tau > 0:
            self._stages.append(_StreamResampler(lambda m: _delay_times(m, tau),
                                                 lambda n: n + math.ceil(tau)))
        ppm = cfg.sfo_ppm
        if ppm != 0:
            self._stages.append(_StreamResampler(lambda m: _sfo_times(m, ppm),
                                                 lambda n: sfo_num_outputs(n, ppm)))

    def _multipath(self, x: np.ndarray) -> np.ndarray:
        if not _has_multipath(self.cfg):
            return x
        xx = np.concatenate([self._tail, x])           # [max_delay + N]
        start = self._num_in - self._tail.size
        if self._doppler_seed is None:
            _, gains = _tap_gains(self.cfg, self.ofdm, xx.size, self.rng)
        else:
            _, gains = _tap_gains(self.cfg, self.ofdm, xx.size,
                                  np.random.default_rng(self._doppler_seed), start_sample=start)
        y = multipath(xx, self._delays, gains)[self._tail.size:]
        if self._tail.size:
            self._tail = xx[-self._tail.size:]
        return y

    def _post(self, y: np.ndarray) -> np.ndarray:
        """AWGN, CFO, phase noise, IQ imbalance, DC offset on emitted samples."""
        y, self._phase_noise_rad = _receiver_stages(y, self.cfg, self.ofdm.sample_rate_hz, self._noise_var,
                                                    self.rng, self._num_out, self._phase_noise_rad)
        self._num_out += y.size
        return y

    def __call__(self, x) -> np.ndarray:
        """Push the next chunk. x : complex [N] -> complex64 [M] (see the class docstring)."""
        x = _as_c64(x)
        y = self._multipath(x)
        self._num_in += x.size
        for stage in self._stages:
            y = stage.push(y)
        y = self._post(y)
        return y.copy() if y is x else y

    def flush(self) -> np.ndarray:
        """End the stream: complex64 [K], the outputs still held by the timing/SFO stages
        (the stream is zero after its last sample; K = 0 without them), then :meth:`reset`."""
        y = np.zeros(0, np.complex64)
        for stage in self._stages:      # each stage ends its stream after its input's tail
            y = stage.push(y, final=True)
        y = self._post(y)
        self.reset()
        return y
