"""The stream receiver: finds every frame in an arbitrary IQ stream and equalises it.

Pipeline per frame (all steps are batched over the frames found in one pass):

1. **Detection**: Schmidl & Cox metric (S&C 1997, eq. 5-8) at lag N/2 over the sync symbol,
   extended with the lag-N repetition of the LTF (:func:`sc_metric`), evaluated on a grid of
   every ``D`` samples from block sums (exact and independent of how the stream is chunked);
   local maxima above ``detection_threshold`` are candidates.
2. **CFO**: fractional part from ``angle P / pi`` (modulo 2 subcarriers), the even integer part
   from adjacent-carrier products of the LTF, the fine part from the lag-N LTF repetition.
3. **Timing**: cross-correlation with the known LTF, on the first path that carries
   ``FIRST_PATH_FRACTION`` of the strongest path's power; a candidate whose LTF copies correlate
   below ``LTF_CONFIRM`` is a false trigger, not a frame.
4. **Channel**: LS estimate from the two LTF copies, smoothed by a least-squares fit of
   the significant delay taps (DFT-basis interpolation across carriers); noise variance from
   the difference of the copies.
5. **Header**: common phase from pilots, ZF equalisation, soft Viterbi, CRC-16. Frames whose
   header fails are counted (``stats.header_failures``).
6. **Inference** (``ModemConfig.max_inferred_frames``): frames missing between two decoded
   frames of a regular train (consecutive sequence numbers, a whole number of frame periods
   apart) are decoded where the train puts them, with their header fields implied, whether
   their preamble was missed or their header failed; one whose own channel estimate shows
   less than ``INFERRED_MIN_SNR_DB`` (nothing was sent there) stays lost.
7. **Channel again**: once a frame's header is known (CRC-checked or implied), its header
   symbols are known REs too; the channel and noise are estimated again from the two LTF copies
   and the header symbols (each turned back by its common phase first), 2 + H symbols instead
   of 2.
8. **Payload**: pilot phase tracking (per-symbol CPE, smoothed: linear trend plus a moving
   average), ZF or MMSE equalisation, effective noise variance per symbol (``no_eff``);
   digital frames are soft-demapped, descrambled and CRC-32 checked. Analog payloads are
   never used as decisions.
"""

from __future__ import annotations

import functools
import itertools
import math
from dataclasses import dataclass, fields
from typing import NamedTuple

import numpy as np
import scipy.fft
from numpy.lib.stride_tricks import sliding_window_view
from scipy.ndimage import maximum_filter1d

from ..config import ModemConfig, OfdmConfig
from . import frame as fr
from .coding import crc32, scramble
from .ofdm import map_resource_grid, ofdm_demodulate, pilot_values, time_scale
from .preamble import ltf_offset, ltf_time, ltf_values, preamble_length
from .qam import demap_hard, demap_soft

LTF_CONFIRM = 0.2          # normalised LTF repetition correlation that confirms a preamble
CFO_AGREEMENT_RAD = np.pi / 3  # sync-symbol and LTF phases must agree this well at detection
FIRST_PATH_FRACTION = 0.2  # a path this strong (power, relative to the strongest) sets the timing
TAP_KEEP_FACTOR = 6.0      # keep a delay tap when |h|^2 > factor * its noise variance
PHASE_SMOOTHING_SYMBOLS = 5
STRONG_FACTOR = 2.0        # candidates this far above the detection threshold are synchronised first
INFERRED_MIN_SNR_DB = -10.0  # an inferred frame must show this SNR in its own channel estimate (noise alone:
                             # about -19 dB, e.g. a frame the transport dropped); lower ones count as lost


@dataclass
class ReceivedFrame:
    """One decoded frame.

    symbols : complex64 [num_symbols] equalised payload symbols. Analog: the semantic symbols,
              ZF or MMSE per ``ModemConfig.equalizer``; digital: ZF (unbiased) constellation
              points, CRC-32 and padding bits included
    no_eff  : float32 [num_symbols] effective noise variance per symbol: E|symbols - x|^2 for
              ZF, the MMSE error variance for MMSE
    channel : complex64 [N_used] channel estimate on the used carriers, as seen by FFT windows
              that start ``StreamReceiver.fft_backoff_samples`` before each symbol body (so a
              flat channel shows a linear phase of that many samples)
    payload : bytes or None, digital payload from hard decisions (CRC-32 removed)
    """

    seq: int
    kind: str
    start: int
    symbols: np.ndarray
    no_eff: np.ndarray
    snr_db: float
    cfo_hz: float
    cfo_subcarriers: float
    noise_var: float
    channel: np.ndarray
    payload: bytes | None = None
    payload_crc_ok: bool | None = None
    inferred: bool = False    # its own header was not decoded: see ``ModemConfig.max_inferred_frames``

    @property
    def length(self) -> int:
        return len(self.payload) if self.payload is not None else int(self.symbols.size)

    def llr(self) -> np.ndarray:
        """float32 [num_symbols * bits]: max-log LLRs of a digital frame (positive = bit 0),
        scrambled bits in transmission order."""
        if self.kind == "analog":
            raise ValueError("llr() needs a digital frame; this frame is analog")
        return demap_soft(self.symbols, self.no_eff, self.kind)


@dataclass
class ReceiverStats:
    samples: int = 0
    candidates: int = 0          # S&C metric local maxima above the threshold
    false_triggers: int = 0      # candidates the LTF did not confirm (or weak ones inside a decoded frame)
    header_failures: int = 0     # confirmed preambles whose header failed its CRC
    frames: int = 0              # frames decoded (inferred ones included)
    inferred: int = 0            # frames decoded where their decoded neighbours place them
    truncated: int = 0           # frames cut by the end of the stream
    payload_crc_failures: int = 0


# ----------------------------------------------------------------------------------------------
# Pure array functions
# ----------------------------------------------------------------------------------------------

def decimation(cfg: OfdmConfig) -> int:
    """Metric grid step D: a power of two dividing N/2 and CP, at most CP/2."""
    d = math.gcd(cfg.fft_size // 2, cfg.cp_length_samples)
    d = 1 << (d.bit_length() - 1)  # largest power of two dividing both
    while d > 1 and d > cfg.cp_length_samples // 2:
        d //= 2
    return d


def _block_sums(v: np.ndarray, dec: int) -> np.ndarray:
    """Sums of consecutive blocks of ``dec`` values (complex64 or float32), as a matrix product
    with a 0/1 matrix (BLAS is ~4x faster than a reduction over a short axis)."""
    parts = 2 if np.iscomplexobj(v) else 1
    ones = np.zeros((dec * parts, parts), np.float32)
    for k in range(parts):
        ones[k::parts, k] = 1.0
    out = v.view(np.float32).reshape(-1, dec * parts) @ ones
    return out.view(np.complex64)[:, 0] if parts == 2 else out[:, 0]


def _window_sums(blocks: np.ndarray, first: int, count: int, num: int) -> np.ndarray:
    """sum_{b < count} blocks[first + b + j] for j < num (exact: same additions in any chunking)."""
    out = blocks[first:first + num].copy()
    for b in range(1, count):
        out += blocks[first + b:first + b + num]
    return out


def sc_metric(x: np.ndarray, cfg: OfdmConfig) -> tuple[np.ndarray, np.ndarray]:
    """Preamble detection metric on a grid of every D samples (Schmidl & Cox, extended to the LTF).

    x : complex64 [n], the first sample on the grid (index 0)
    returns P complex64 [J] and M float32 [J] for frame starts d = 0, D, 2D, ...:

    * sync symbol: ``P(d) = sum_{m<CP+N/2} conj(x[d+m]) x[d+m+N/2]`` (S&C eq. 5 over the CP too;
      its phase is pi times the CFO in subcarriers);
    * LTF: ``Q(d) = sum_{m<2CP+N} conj(x[d+o+m]) x[d+o+m+N]``, o = CP + N (GI + T1 against T1 + T2);
    * ``M = |P| |Q| / (R_P R_Q)`` with ``R = 1/2 sum |x[.]|^2 + |x[. + lag]|^2`` over the same
      products (symmetric energy, Minn et al.): both repetitions must be present at once. M is 1
      for a clean preamble, about (SNR / (1 + SNR))^2 with noise, and about 0.01 for noise
      alone: 3 CP + 3N/2 products make the detector usable near 0 dB SNR without false
      triggers, and silence next to part of a preamble scores 0, not 1. Where the CFO implied
      by P and by Q disagree by more than ``CFO_AGREEMENT_RAD`` (phase of Q conj(P)^2), M = 0.
    """
    n, cp, dec = cfg.fft_size, cfg.cp_length_samples, decimation(cfg)
    half, o = n // 2, cp + n
    nblk = x.size // dec
    num = nblk - (o + 2 * cp + 2 * n) // dec + 1          # positions whose whole preamble is in x
    if num <= 0:
        return np.zeros(0, np.complex64), np.zeros(0, np.float32)
    use = nblk * dec
    # products at lags N/2 and N, and energies, summed over blocks of D samples
    pa = _block_sums(np.conj(x[:use - half]) * x[half:use], dec)
    pl = _block_sums(np.conj(x[:use - n]) * x[n:use], dec)
    eb = _block_sums(np.square(x[:use].view(np.float32)), 2 * dec)      # |x|^2: I^2 + Q^2 pairs
    wa, wl = (cp + half) // dec, (2 * cp + n) // dec
    p = _window_sums(pa, 0, wa, num)
    q = _window_sums(pl, o // dec, wl, num)
    rp = 0.5 * (_window_sums(eb, 0, wa, num) + _window_sums(eb, half // dec, wa, num))
    rq = 0.5 * (_window_sums(eb, o // dec, wl, num) + _window_sums(eb, (o + n) // dec, wl, num))
    m = np.abs(p) * np.abs(q) / np.maximum(rp * rq, np.float32(1e-30))
    # P turns by pi eps and Q by 2 pi eps: a preamble makes Q conj(P)^2 nearly real-positive;
    # OFDM data (whose CPs correlate at lag N) and noise do not
    m[np.real(q * np.conj(p) ** 2) < np.cos(CFO_AGREEMENT_RAD) * np.abs(q) * np.abs(p) ** 2] = 0.0
    return p, m.astype(np.float32)


def cfo_ramp(eps: np.ndarray, starts: np.ndarray, length: int, fft_size: int, gain: float = 1.0,
             split: bool = False):
    """gain * exp(-j 2 pi eps_b (starts_bs + n) / N) for n < length: complex64 [B, S, length].

    eps : [B] CFO in subcarriers; starts : [B, S] first sample of each block, counted from the
    phase reference. Built as a per-block phasor (float64 phase reduced modulo 2 pi) times one
    ramp per frame, so long frames cost few transcendental calls; ``split=True`` returns the two
    factors, (complex64 [B, S] per-block phasor, complex64 [B, length] ramp).
    """
    w = -2.0 * np.pi * np.asarray(eps, np.float64) / fft_size                 # rad per sample [B]
    inner = np.exp(1j * (w[:, None] * np.arange(length))).astype(np.complex64)
    outer = (gain * np.exp(1j * np.mod(w[:, None] * starts, 2 * np.pi))).astype(np.complex64)
    return (outer, inner) if split else outer[:, :, None] * inner[:, None, :]


def gather_blocks(x: np.ndarray, starts: np.ndarray, length: int) -> np.ndarray:
    """x[starts[..., None] + arange(length)]: complex64 [*starts.shape, length]."""
    return x[starts[..., None] + np.arange(length)]


def integer_cfo(spec: np.ndarray, cfg: OfdmConfig, shifts: np.ndarray) -> np.ndarray:
    """Pick the carrier shift m (from ``shifts``) that best explains the received LTF.

    spec : complex64 [B, N] FFT of the received LTF (any timing inside the guard interval)
    Metric: |sum_k Y[k+m] conj(Y[k+1+m]) conj(T_k) T_{k+1}| over adjacent used carriers; the
    channel and the timing phase ramp cancel in adjacent-carrier products.
    returns int64 [B], the shift in subcarriers.
    """
    used = cfg.used_carriers
    k = used[:-1][np.diff(used) == 1]
    t = ltf_values(cfg)
    ref = np.conj(t[cfg.fft_bins(k)]) * t[cfg.fft_bins(k + 1)]
    idx0 = cfg.fft_bins(k[None, :] + shifts[:, None])
    idx1 = cfg.fft_bins(k[None, :] + 1 + shifts[:, None])
    # [B, shifts, pairs]
    z = spec[:, idx0] * np.conj(spec[:, idx1]) * ref
    return shifts[np.argmax(np.abs(z.sum(axis=-1)), axis=1)]


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


def estimate_channel(y: np.ndarray, known: np.ndarray, cfg: OfdmConfig, method: str = "smoothed",
                     backoff: int = 0) -> ChannelEstimate:
    """LS channel estimate from S >= 2 received OFDM symbols whose REs are known.

    y     : complex64 [B, S, N] (FFT bin order, transmitter RE units), e.g. the two LTF copies,
            followed by the header symbols once the header is known
    known : complex [B or 1, S, N] what was sent, unit modulus on the used carriers
    method : ``"ls"`` (per-carrier LS) or ``"smoothed"``: the LS estimate is projected on the
             few delay taps that explain it, ``H_k = sum_l h_l exp(-j 2 pi k l / N)`` with l in
             [-4, CP + backoff + 2), chosen greedily (orthogonal matching pursuit) while the best
             remaining tap's correlation power exceeds ``TAP_KEEP_FACTOR`` times its noise
             variance. This interpolates across carriers and leaves an estimation error of
             ``noise_var / S * num_taps / N_used`` instead of ``noise_var / S``.
    The noise variance comes from the spread of the S per-symbol estimates around their mean.
    """
    bins = cfg.fft_bins(cfg.used_carriers)
    obs = y[..., bins] * np.conj(known[..., bins])          # [B, S, N_used]: H + noise (|known| = 1)
    num = obs.shape[1]
    h_ls = obs.mean(axis=1)
    noise_var = np.mean(np.abs(obs - h_ls[:, None]) ** 2, axis=(1, 2)) * num / (num - 1)
    # floor at 100 dB below the signal: a noiseless simulation still yields finite LLRs
    noise_var = np.maximum(noise_var, 1e-10 * np.mean(np.abs(h_ls) ** 2, axis=1) + 1e-30)
    batch, n_used = h_ls.shape
    if method == "ls":
        return ChannelEstimate(h_ls.astype(np.complex64), noise_var, noise_var / num, np.full(batch, n_used))
    basis = _tap_basis(cfg, backoff)                   # [N_used, T]
    gram = np.conj(basis.T) @ basis
    proj = h_ls @ np.conj(basis)                       # [B, T] = basis^H h_ls
    threshold = TAP_KEEP_FACTOR * (noise_var / num) / n_used
    keep = np.zeros((batch, basis.shape[1]), bool)
    order = np.zeros((batch, basis.shape[1]), np.int64)   # kept taps, in the order found
    active = np.ones(batch, bool)
    resid, h = h_ls.copy(), np.zeros_like(h_ls)
    for it in range(basis.shape[1]):
        # every active frame holds exactly ``it`` taps and tries to add one more
        act = np.flatnonzero(active)
        power = np.abs(resid[act] @ np.conj(basis) / n_used) ** 2
        power[keep[act]] = -1.0
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


@functools.lru_cache(maxsize=8)
def _tap_basis(cfg: OfdmConfig, backoff: int) -> np.ndarray:
    """complex128 [N_used, T]: exp(-j 2 pi k l / N) for used carriers k and candidate taps l."""
    lags = np.arange(-4, cfg.cp_length_samples + backoff + 2)
    return np.exp(-2j * np.pi * np.outer(cfg.used_carriers, lags) / cfg.fft_size)


def track_phase(pilot_rx: np.ndarray, pilot_ref: np.ndarray, smoothing: int) -> np.ndarray:
    """Common phase per OFDM symbol from pilots.

    pilot_rx : complex [B, S, P] received pilots; pilot_ref : complex [B or 1, S, P] = H_p * p_s
    smoothing: 1 keeps the raw per-symbol estimate; > 1 fits a linear trend (residual CFO) over
    the frame and adds a centred moving average of the remaining phase over ``smoothing``
    symbols (phase noise), which cuts the estimation noise on long frames.
    returns float64 [B, S] phase in radians (unwrapped).
    """
    phase = np.unwrap(np.angle(np.sum(pilot_rx * np.conj(pilot_ref), axis=-1)), axis=-1)
    num = phase.shape[-1]
    if smoothing <= 1 or num < 3:
        return phase
    s = np.arange(num) - (num - 1) / 2
    slope = phase @ s / (s @ s)
    trend = phase.mean(axis=-1, keepdims=True) + slope[:, None] * s
    resid = phase - trend
    # centred moving average over w symbols, shrinking at the frame edges (cumulative sums)
    w = min(smoothing, num)
    csum = np.concatenate([np.zeros((phase.shape[0], 1)), np.cumsum(resid, axis=-1)], axis=-1)
    lo = np.clip(np.arange(num) - w // 2, 0, num)
    hi = np.clip(np.arange(num) + w - w // 2, 0, num)
    smooth = (csum[:, hi] - csum[:, lo]) / (hi - lo)
    return trend + smooth


def equalize(y: np.ndarray, est: ChannelEstimate, cfg: OfdmConfig, equalizer: str = "zf",
             first_symbol: int = 0, smoothing: int = PHASE_SMOOTHING_SYMBOLS, track: bool = True,
             rotation: np.ndarray | None = None):
    """Pilot phase tracking and one-tap equalisation.

    y : complex64 [B, S, N] received symbols (FFT bin order); symbol s carries the pilots of
        frame symbol ``first_symbol + s``
    rotation : complex [B, S] or None, a known common phasor per symbol applied first (the
        per-symbol part of a CFO correction commutes with the FFT)
    returns (x complex64 [B, S, num_data], no_eff float32 [B, 1, num_data], phase float64 [B, S]).
    ZF: ``x = y / H``, ``no_eff = (N0 + var_e) / |H|^2``; MMSE: ``x = conj(H) y / (|H|^2 + N0')``,
    ``no_eff = N0' / (|H|^2 + N0')`` with ``N0' = N0 + var_e`` (var_e: estimation error).
    """
    pil = np.searchsorted(cfg.used_carriers, cfg.pilot_carriers)
    dat = np.searchsorted(cfg.used_carriers, cfg.data_carriers)
    h = est.h[:, dat]
    noise = (est.noise_var + est.error_var)[:, None].astype(np.float32)
    gain = h.real ** 2 + h.imag ** 2
    denom = gain + noise if equalizer == "mmse" else gain
    weight = (np.conj(h) / np.maximum(denom, np.float32(1e-30)))[:, None, :]
    x = np.take(y, cfg.fft_bins(cfg.data_carriers), axis=-1)   # take: faster than fancy indexing
    x *= weight
    rot = np.ones(y.shape[:2], np.complex64) if rotation is None else rotation.astype(np.complex64)
    if track:
        ref = est.h[:, None, pil] * pilot_values(cfg, y.shape[1], first_symbol)[None]
        phase = track_phase(np.take(y, cfg.fft_bins(cfg.pilot_carriers), axis=-1) * rot[..., None], ref, smoothing)
        rot = rot * np.exp(-1j * phase).astype(np.complex64)
    else:
        phase = np.zeros(y.shape[:2])
    if track or rotation is not None:
        x *= rot[..., None]
    no_eff = noise / np.maximum(gain + noise if equalizer == "mmse" else gain, np.float32(1e-30))
    return x.astype(np.complex64, copy=False), no_eff[:, None, :].astype(np.float32), phase


# ----------------------------------------------------------------------------------------------
# The stream receiver
# ----------------------------------------------------------------------------------------------

@dataclass
class _Sync:
    """Per-candidate synchronisation results (arrays over the candidates of one pass)."""
    start: np.ndarray        # int64 absolute frame start (start of the sync symbol's CP)
    eps: np.ndarray          # float64 CFO in subcarriers
    confirmed: np.ndarray    # bool
    est: ChannelEstimate
    seq: np.ndarray          # int64 header fields (valid where header_ok)
    kind: np.ndarray
    length: np.ndarray
    header_ok: np.ndarray    # bool: CRC passed on a confirmed preamble
    spec: np.ndarray         # complex64 [B, 2 + header symbols, N]: LTF copies and header, CFO removed
    inferred: np.ndarray     # bool: header fields and place implied by the neighbouring frames

    def take(self, idx: np.ndarray) -> "_Sync":
        """The results of candidates ``idx`` (new arrays)."""
        return _Sync(*(v.select(idx) if isinstance(v, ChannelEstimate) else v[idx]
                       for v in (getattr(self, f.name) for f in fields(self))))

    def join(self, other: "_Sync") -> "_Sync":
        """This pass's candidates followed by ``other``'s."""
        def cat(a, b):
            if isinstance(a, ChannelEstimate):
                return ChannelEstimate(*(np.concatenate([getattr(a, f.name), getattr(b, f.name)]) for f in fields(a)))
            return np.concatenate([a, b])
        return _Sync(*(cat(getattr(self, f.name), getattr(other, f.name)) for f in fields(self)))


class _Anchor(NamedTuple):
    """An accepted frame, as the inference of missing frames needs it (``start`` absolute)."""
    seq: int
    start: int
    kind: int
    length: int
    period: int              # frame + gap samples: where the next frame of the train starts
    eps: float


class StreamReceiver:
    """Finds and decodes frames in a complex64 stream pushed in chunks of any size.

    ``push(chunk)`` returns the frames completed so far; ``flush()`` ends the stream and returns
    what is left. Work is batched: the stream is processed once ``batch_samples`` new samples
    have arrived (``batch_samples=1`` processes every chunk at once, at a higher cost per
    sample). Results do not depend on how the stream is cut into chunks: every decision is taken
    on the same samples, once they have all arrived.
    """

    def __init__(self, ofdm: OfdmConfig, modem: ModemConfig, batch_samples: int = 1 << 19):
        if batch_samples < 1:
            raise ValueError(f"batch_samples = {batch_samples}: allowed >= 1")
        self.ofdm, self.modem = ofdm, modem
        self.batch_samples = batch_samples
        cp = ofdm.cp_length_samples
        self._dec = decimation(ofdm)
        self._half = math.ceil(preamble_length(ofdm) / self._dec)   # local-maximum half window (grid steps)
        self._backoff = max(1, cp // 4)
        self._margin = cp + self._dec                        # timing search either side
        self._num_header = fr.num_header_symbols(ofdm)
        self._header_end = preamble_length(ofdm) + self._num_header * ofdm.symbol_length_samples
        self._window = self._margin + self._header_end + self._margin
        self._history = (self._half + 2) * self._dec + self._margin
        self._ltf = ltf_time(ofdm)
        g = int(math.floor((modem.max_cfo_subcarriers + 1) / 2))
        self._shifts = 2 * np.arange(-g, g + 1)
        self.reset()

    @property
    def fft_backoff_samples(self) -> int:
        """FFT windows start this many samples before each symbol body (inside the CP)."""
        return self._backoff

    def reset(self) -> None:
        """Forget the stream; sample indices start again at 0."""
        self._restart(0)
        self.stats = ReceiverStats()

    def _restart(self, at: int) -> None:
        # the stream is silent before ``at``: start with zeros so the first samples are decidable
        pad = self._history + (-self._history) % self._dec
        self._buf = np.zeros(pad, np.complex64)
        self._base = at - pad    # absolute index of _buf[0]
        self._scan = at          # candidates before this absolute index are decided
        self._next = at          # end of the last accepted frame
        self._real_end = None
        self._pending, self._pending_samples = [], 0   # chunks not yet processed
        self._last: _Anchor | None = None    # the last accepted frame

    # -- public API ---------------------------------------------------------------------------
    def push(self, chunk: np.ndarray) -> list[ReceivedFrame]:
        chunk = np.asarray(chunk)
        if chunk.ndim != 1 or not np.iscomplexobj(chunk):
            raise ValueError(f"chunk must be a 1-D complex array, got {chunk.dtype} {chunk.shape}")
        self.stats.samples += chunk.size
        self._pending.append(chunk.astype(np.complex64))       # a copy: callers may reuse buffers
        self._pending_samples += chunk.size
        if self._pending_samples < self.batch_samples:
            return []
        return self._process()

    def flush(self) -> list[ReceivedFrame]:
        """End of stream: decide every remaining candidate (frames cut short are counted)."""
        self._real_end = self._base + self._buf.size + self._pending_samples
        self._pending.append(np.zeros(self._window + self._history + 2 * self._dec, np.complex64))
        frames = self._process()
        self._restart(self._real_end)
        return frames

    # -- internals ----------------------------------------------------------------------------
    def _process(self) -> list[ReceivedFrame]:
        x = self._buf = np.concatenate([self._buf] + self._pending)
        self._pending, self._pending_samples = [], 0
        base, dec = self._base, self._dec
        end = base + x.size
        p_metric, m = sc_metric(x, self.ofdm)
        pos = base + dec * np.arange(m.size)
        # a candidate is decidable when its local-max window and its header window have arrived
        decidable = (np.arange(m.size) + self._half < m.size) & (pos + self._window - self._margin <= end)
        peak = (m > self.modem.detection_threshold) & (m == maximum_filter1d(m, 2 * self._half + 1))
        peak[1:] &= m[1:] > m[:-1]
        peak &= (np.arange(m.size) >= self._half) & (pos >= self._scan)
        undecided = np.flatnonzero(~decidable)
        limit = pos[undecided[0]] if undecided.size else end
        cand = np.flatnonzero(peak & (pos < limit))
        frames: list[ReceivedFrame] = []
        waiting = None
        if cand.size:
            sync = self._synchronise_candidates(x, cand, pos - base, p_metric, m)
            accepted = []
            for i in range(cand.size):
                start, length = int(sync.start[i]), 0
                if sync.header_ok[i]:
                    length = fr.frame_length_samples(self.ofdm, int(sync.kind[i]), int(sync.length[i]))
                complete = start + length + self._margin <= end
                if sync.header_ok[i] and not complete and self._real_end is None \
                        and pos[cand[i]] >= self._next - dec:
                    waiting = int(pos[cand[i]])              # wait for the rest of this frame
                    break
                self.stats.candidates += 1
                if pos[cand[i]] < self._next - dec:          # inside the last accepted frame
                    continue
                if not sync.confirmed[i]:
                    self.stats.false_triggers += 1
                elif not sync.header_ok[i]:
                    self.stats.header_failures += 1
                elif not complete or (self._real_end is not None and start + length > self._real_end):
                    self.stats.truncated += 1
                else:
                    accepted.append(i)
                    self._next = start + length
            sync, accepted = self._infer_missing(x, sync, accepted)
            frames = self._decode_payloads(x, sync, accepted)
        self._scan = waiting if waiting is not None else max(limit, self._scan)
        keep_from = min(self._scan, end) - self._history
        if self._last is not None:           # keep what follows the last frame while a gap may still be filled
            if self._scan - self._last.start <= (self.modem.max_inferred_frames + 1) * self._last.period:
                keep_from = min(keep_from, self._next)
            else:
                self._last = None
        keep_from = max(base, keep_from - keep_from % dec)
        self._buf, self._base = x[keep_from - base:], keep_from
        return frames

    def _infer_missing(self, x: np.ndarray, sync: _Sync, accepted: list[int]) -> tuple[_Sync, list[int]]:
        """Frames missing from a regular train: between two accepted frames of one kind and length
        whose sequence numbers differ by d (2 <= d <= ``max_inferred_frames`` + 1) and whose starts
        differ by d frame periods (frame + ``gap_samples``, within a CP), the d - 1 frames the
        transmitter sent in between are decoded where they must be, with the CFO interpolated and
        their own channel estimate, whether or not their preamble was detected or their header
        decoded. Returns ``sync`` with their rows appended and all accepted rows in stream order."""
        cfg, base = self.ofdm, self._base
        anchors = [self._last] if self._last is not None else []
        for i in accepted:
            kind, length = int(sync.kind[i]), int(sync.length[i])
            period = fr.frame_length_samples(cfg, kind, length) + self.modem.gap_samples
            anchors.append(_Anchor(int(sync.seq[i]), int(sync.start[i]), kind, length, period, float(sync.eps[i])))
        if anchors:
            self._last = anchors[-1]
        seqs, starts, eps = [], [], []
        for a, b in itertools.pairwise(anchors):
            d = (b.seq - a.seq) & 0xFFFF
            if not 2 <= d <= self.modem.max_inferred_frames + 1 or (a.kind, a.length) != (b.kind, b.length) \
                    or abs(b.start - a.start - d * a.period) > cfg.cp_length_samples:
                continue
            for j in range(1, d):
                start = min(a.start + j * a.period, b.start - (d - j) * a.period)     # the earlier path's timing
                if start >= base:
                    seqs.append(((a.seq + j) & 0xFFFF, a.kind, a.length))
                    starts.append(start - base)
                    eps.append(a.eps + (b.eps - a.eps) * j / d)
        if not seqs:
            return sync, accepted
        extra = self._frames_at(x, np.array(starts, np.int64), np.array(eps), np.zeros(len(seqs), bool))
        extra.seq[:], extra.kind[:], extra.length[:] = np.array(seqs).T
        extra.confirmed[:] = extra.header_ok[:] = extra.inferred[:] = True
        rows = accepted + list(range(sync.start.size, sync.start.size + len(seqs)))
        sync = sync.join(extra)
        return sync, sorted(rows, key=lambda i: sync.start[i])

    def _synchronise_candidates(self, x: np.ndarray, cand: np.ndarray, rel: np.ndarray, p_metric: np.ndarray,
                                m: np.ndarray) -> _Sync:
        """:meth:`_synchronise` for the candidates ``cand``, strong ones (metric >= ``STRONG_FACTOR``
        x the threshold) first: a weak one inside a frame whose header a strong one decoded is the
        frame's own data, which inside long frames makes many weak local maxima; it is not
        synchronised (a false trigger, if the walk ever gets to it) instead of costing a pass each."""
        is_strong = m[cand] >= STRONG_FACTOR * self.modem.detection_threshold
        if is_strong.all() or not is_strong.any():
            return self._synchronise(x, rel[cand], p_metric[cand])
        strong, weak = np.flatnonzero(is_strong), np.flatnonzero(~is_strong)
        first = self._synchronise(x, rel[cand[strong]], p_metric[cand[strong]])
        ok = np.flatnonzero(first.header_ok)
        starts = first.start[ok] - self._base
        ends = starts + np.array([fr.frame_length_samples(self.ofdm, int(first.kind[i]), int(first.length[i]))
                                  for i in ok], np.int64)
        at = rel[cand[weak]][:, None]
        skip = ((at > starts) & (at < ends)).any(axis=1)
        done, results = strong, first
        if not skip.all():
            done = np.concatenate([strong, weak[~skip]])
            results = first.join(self._synchronise(x, rel[cand[weak[~skip]]], p_metric[cand[weak[~skip]]]))
        row = np.zeros(cand.size, np.int64)            # candidate -> its row in results (skipped: row 0)
        row[done] = np.arange(done.size)
        sync = results.take(row)
        sync.confirmed[weak[skip]] = False
        sync.header_ok[weak[skip]] = False
        return sync

    def _synchronise(self, x: np.ndarray, rel: np.ndarray, p_metric: np.ndarray) -> _Sync:
        """Batched CFO, timing, channel estimation and header decoding at candidate offsets."""
        cfg, n, cp, m = self.ofdm, self.ofdm.fft_size, self.ofdm.cp_length_samples, self._margin
        batch = rel.size
        rows = np.arange(batch)[:, None]
        # fractional CFO from the S&C phase, then the even integer part from the LTF copies,
        # FFT taken early (inside the guard interval) at the coarse timing
        eps_a = np.angle(p_metric).astype(np.float64) / np.pi
        t1 = rel + ltf_offset(cfg) - cp // 2
        starts = t1[:, None] + np.array([0, n])
        ltf = gather_blocks(x, starts, n) * cfo_ramp(eps_a, starts - rel[:, None], n, n)
        eps1 = eps_a + integer_cfo(scipy.fft.fft(ltf.sum(axis=1), axis=1), cfg, self._shifts)
        # fine timing: correlate with both LTF copies, lags -m..m around the expected position
        lo = rel + ltf_offset(cfg) - m
        span = 2 * n + 2 * m
        region = gather_blocks(x, lo[:, None], span) * cfo_ramp(eps1, np.zeros((batch, 1)), span, n)
        seg = sliding_window_view(region[:, 0], n, axis=1)                 # [B, span - n + 1, n]
        corr = seg @ np.conj(self._ltf)
        c = corr[:, :2 * m + 1] + corr[:, n:n + 2 * m + 1]
        # first path: the earliest lag within CP - backoff before the peak that carries at least
        # FIRST_PATH_FRACTION of the peak's power (LTF sidelobes stay below 4 %)
        power = c.real ** 2 + c.imag ** 2
        peak = np.argmax(power, axis=1)
        lags = np.arange(power.shape[1])
        near = (lags >= (peak - (cp - self._backoff))[:, None]) & (lags <= peak[:, None])
        best = np.argmax(near & (power >= FIRST_PATH_FRACTION * power[rows[:, 0], peak][:, None]), axis=1)
        t_ltf = lo + best                                                  # first LTF body in x
        start = t_ltf - ltf_offset(cfg)                                    # frame start in x
        # fine CFO from the lag-N repetition (GI tail + T1 against T1 + T2, N + CP products,
        # ending ``backoff`` early in case the correlation peak sits on a later path): its
        # phase gives eps modulo 1, unwrapped around eps1
        a = gather_blocks(x, (t_ltf - cp - self._backoff)[:, None], n + cp)[:, 0]
        b = gather_blocks(x, (t_ltf - cp - self._backoff + n)[:, None], n + cp)[:, 0]
        rep = np.sum(b * np.conj(a), axis=1)
        frac = np.angle(rep) / (2 * np.pi)
        # confirmation: normalised lag-N correlation of the LTF (~ SNR / (1 + SNR), any channel)
        rho = np.abs(rep) / np.sqrt(np.maximum(np.sum(np.abs(a) ** 2, 1) * np.sum(np.abs(b) ** 2, 1), 1e-30))
        eps = eps1 + np.mod(frac - eps1 + 0.5, 1.0) - 0.5
        return self._frames_at(x, start, eps, rho >= LTF_CONFIRM)

    def _frames_at(self, x: np.ndarray, start: np.ndarray, eps: np.ndarray, decode: np.ndarray) -> _Sync:
        """Channel estimates at frame starts ``start`` (in x) with CFO ``eps``, and the headers of
        frames ``decode`` (bool [B]; the others are not decoded and count as unconfirmed)."""
        cfg, n, cp = self.ofdm, self.ofdm.fft_size, self.ofdm.cp_length_samples
        batch = start.size
        t_ltf = start + ltf_offset(cfg)
        # CFO removed with the phase reference at the frame start
        sym = cfg.symbol_length_samples
        fft_at = np.concatenate([(t_ltf - self._backoff)[:, None] + np.array([0, n]),
                                 (start + preamble_length(cfg) + cp - self._backoff)[:, None]
                                 + sym * np.arange(self._num_header)], axis=1)
        y = ofdm_demodulate(gather_blocks(x, fft_at, n) * cfo_ramp(eps, fft_at - start[:, None], n, n), cfg)
        est = estimate_channel(y[:, :2], ltf_values(cfg)[None, None], cfg, self.modem.channel_estimator, self._backoff)
        seq, kind, length = (np.zeros(batch, np.int64) for _ in range(3))
        ok = np.zeros(batch, bool)
        c = np.flatnonzero(decode)
        if c.size:
            xh, noh, _ = equalize(y[c, 2:], est.select(c), cfg, "zf")
            seq[c], kind[c], length[c], ok[c] = fr.decode_headers(demap_soft(xh, noh, "bpsk"), cfg)
        return _Sync(start + self._base, eps, decode.copy(), est, seq, kind, length, ok, y,
                     np.zeros(batch, bool))

    def _estimate_with_header(self, sync: _Sync, idx: np.ndarray, kind: int, length: int) -> ChannelEstimate:
        """The channel of frames ``idx`` (one kind and length) estimated again, from the LTF copies
        and the header symbols, whose REs are known once the header is (decoded and CRC-checked,
        or inferred): 2 + H known symbols instead of 2. Each header symbol is first turned back by
        its common phase against the LTF estimate (residual CFO, phase noise), measured on all
        its used carriers."""
        cfg, h = self.ofdm, self._num_header
        y = sync.spec[idx]                                      # a copy [B, 2 + H, N]
        known = np.empty_like(y)
        known[:, :2] = ltf_values(cfg)
        known[:, 2:] = map_resource_grid(fr.header_symbols(sync.seq[idx], kind, length, cfg), cfg, pilot_values(cfg, h))
        bins = cfg.fft_bins(cfg.used_carriers)
        phasor = np.sum(y[:, 2:, bins] * np.conj(known[:, 2:, bins] * sync.est.h[idx, None]), axis=-1)   # [B, H]
        y[:, 2:] *= (np.conj(phasor) / np.maximum(np.abs(phasor), 1e-30))[..., None]
        return estimate_channel(y, known, cfg, self.modem.channel_estimator, self._backoff)

    def _decode_payloads(self, x: np.ndarray, sync: _Sync, accepted: list[int]) -> list[ReceivedFrame]:
        cfg, n, h = self.ofdm, self.ofdm.fft_size, self._num_header
        sym = cfg.symbol_length_samples
        data_pos = np.searchsorted(cfg.used_carriers, cfg.data_carriers)
        groups: dict[tuple[int, int], list[int]] = {}
        for i in accepted:
            groups.setdefault((int(sync.kind[i]), int(sync.length[i])), []).append(i)
        out: dict[int, ReceivedFrame] = {}
        for (kind, length), idx in groups.items():
            idx = np.array(idx)
            num_pay = fr.num_payload_symbols(cfg, kind, length)
            num_sym = h + num_pay
            start = sync.start[idx] - self._base
            # payload symbols (strided views: one row per symbol, FFT window first), CFO removed
            # with the frame-start phase reference, RE scaling folded into the ramp
            first = preamble_length(cfg) + h * sym + cfg.cp_length_samples - self._backoff
            bodies = np.stack([x[f:f + num_pay * sym].reshape(num_pay, sym)[:, :n] for f in start + first])
            rel = np.broadcast_to(first + sym * np.arange(num_pay), (idx.size, num_pay))
            outer, inner = cfo_ramp(sync.eps[idx], rel, n, n, gain=1 / time_scale(cfg), split=True)
            bodies *= inner[:, None, :]                  # the per-symbol phasor is applied after the FFT
            spec = scipy.fft.fft(bodies, axis=-1, norm="ortho", overwrite_x=True)
            # the header spectra from synchronisation join them, so phase tracking spans the frame
            spec = np.concatenate([sync.spec[idx, 2:], spec], axis=1)
            rotation = np.concatenate([np.ones((idx.size, h), np.complex64), outer], axis=1)
            est = self._estimate_with_header(sync, idx, kind, length)
            equalizer = self.modem.equalizer if kind == 0 else "zf"
            sym_eq, no_eff, phase = equalize(spec, est, cfg, equalizer, rotation=rotation)
            nres = fr.payload_num_res(kind, length)
            xs = sym_eq[:, h:].reshape(idx.size, -1)[:, :nres]
            no = np.broadcast_to(no_eff, sym_eq.shape)[:, h:].reshape(idx.size, -1)[:, :nres]
            gain = np.mean(np.abs(est.h[:, data_pos]) ** 2, axis=1)
            snr_db = 10 * np.log10(np.maximum(gain / np.maximum(est.noise_var, 1e-30), 1e-30))
            # residual CFO from the slope of the tracked phase (rad per symbol)
            s = np.arange(num_sym) - (num_sym - 1) / 2
            eps = sync.eps[idx] + (phase @ s / (s @ s)) / (2 * np.pi * sym / n)
            if kind > 0:
                nbits = 8 * (length + fr.PAYLOAD_CRC_BYTES)
                bits = scramble(demap_hard(xs, fr.KINDS[kind])[:, :nbits])
                raw = np.packbits(bits, axis=1)
            for j, i in enumerate(idx):
                if sync.inferred[i] and snr_db[j] < INFERRED_MIN_SNR_DB:
                    continue
                self.stats.inferred += bool(sync.inferred[i])
                f = ReceivedFrame(seq=int(sync.seq[i]), kind=fr.KINDS[kind], start=int(sync.start[i]),
                                  symbols=xs[j], no_eff=no[j], snr_db=float(snr_db[j]),
                                  cfo_hz=float(eps[j] * cfg.subcarrier_spacing_hz), cfo_subcarriers=float(eps[j]),
                                  noise_var=float(est.noise_var[j]), channel=est.h[j], inferred=bool(sync.inferred[i]))
                if kind > 0:
                    f.payload = raw[j, :length].tobytes()
                    f.payload_crc_ok = crc32(f.payload) == int.from_bytes(raw[j, length:].tobytes(), "big")
                    self.stats.payload_crc_failures += not f.payload_crc_ok
                out[int(i)] = f
        self.stats.frames += len(out)
        return [out[i] for i in accepted if i in out]


def receive(iq: np.ndarray, ofdm: OfdmConfig, modem: ModemConfig) -> tuple[list[ReceivedFrame], ReceiverStats]:
    """Decode every frame of a complete recording: ``push(iq)`` then ``flush()``."""
    rx = StreamReceiver(ofdm, modem)
    frames = rx.push(iq) + rx.flush()
    return frames, rx.stats
