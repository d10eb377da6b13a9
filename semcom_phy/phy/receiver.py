"""The stream receiver: finds every frame in an arbitrary IQ stream and equalises it.

Stages, one module each (all batched over the frames found in one pass):

0. **Conditioning** (:mod:`.conditioning`): non-finite samples zeroed and remembered as faults
   with runs of exact zeros; the receiver's DC removed before any CFO correction.
1. **Detection** (:mod:`.detection`): a Schmidl & Cox metric extended to the LTF, blind to tones
   and DC lines, on a grid of every ``D`` samples; local maxima above ``detection_threshold``
   are candidates.
2. **Synchronisation** (:mod:`.sync`): fractional CFO from the metric's phase, the even integer
   part from adjacent-carrier products of the LTF, the fine part from the lag-N LTF
   repetition; timing on the first path of the LTF cross-correlation, the FFT windows placed in
   the CP from the measured delay spread. A candidate is a preamble only if its LTF copies
   repeat (``LTF_CONFIRM``) *and* match the known LTF (``sync.LTF_MATCH``): a tone, a DC line or
   another system's preamble repeats but does not match; it costs no channel estimate.
3. **Channel estimation** (:mod:`.estimation`, pluggable): from the two LTF copies, and again
   with the header symbols once the header is known (CRC-checked or implied).
4. **Header**: ZF, soft Viterbi, CRC-16 and a re-encoding check (:func:`.frame.decode_headers`).
   Frames whose header fails are counted (``stats.header_failures``).
5. **Inference** (:mod:`.inference`): frames missing from a regular train are decoded where the
   train puts them, if their own channel estimate and header symbols say they are there.
6. **Equalisation and tracking** (:mod:`.equalization`, :mod:`.tracking`, pluggable equaliser):
   the common phase and the timing drift of a sample-clock offset from the pilots, jointly,
   ZF or MMSE, ``no_eff`` raised to what the pilots measure when they measure more. An analog
   frame whose pilots jump from one symbol to the next (a slip, a repeated or missing run of
   samples) or that overlaps a fault is refused and counted (``stats.damaged``); digital
   frames are soft-demapped, descrambled and CRC-32 checked. Analog payloads are never used as
   decisions.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

import numpy as np
import scipy.fft
from numpy.lib.stride_tricks import sliding_window_view
from scipy.ndimage import maximum_filter1d

from ..config import ModemConfig, OfdmConfig
from . import frame as fr
from .coding import crc32, scramble
from .conditioning import InputConditioner
from .detection import decimation, sc_metric
from .equalization import EQUALIZERS, equalize
from .estimation import ESTIMATORS, ChannelEstimate
from .inference import Anchor, implied_frames
from .ofdm import map_resource_grid, ofdm_demodulate, pilot_values, time_scale
from .preamble import ltf_offset, ltf_time, ltf_values, preamble_length
from .qam import demap_hard, demap_soft
from .sync import LTF_MATCH, cfo_ramp, gather_blocks, integer_cfo, path_timing
from .tracking import STEP_LIMIT

LTF_CONFIRM = 0.2          # normalised LTF repetition correlation that confirms a preamble
STRONG_FACTOR = 2.0        # candidates this far above the detection threshold are synchronised first
INFERRED_MIN_SNR_DB = -10.0  # an inferred frame must show this SNR in its own channel estimate (noise alone:
                             # about -19 dB, e.g. a frame the transport dropped); lower ones count as lost
INFERRED_LTF_MATCH = 0.04  # a tone matches the LTF at about 0.02, a frame at -8 dB SNR about 0.05 and up
RESIDUAL_SIGMAS = 3.0      # no_eff follows the pilots' measured error when it exceeds the model by this many sigmas


@dataclass
class ReceivedFrame:
    """One decoded frame.

    symbols : complex64 [num_symbols] equalised payload symbols. Analog: the semantic symbols,
              ZF or MMSE per ``ModemConfig.equalizer``; digital: ZF (unbiased) constellation
              points, CRC-32 and padding bits included
    no_eff  : float32 [num_symbols] effective noise variance per symbol: E|symbols - x|^2 for
              ZF, the MMSE error variance for MMSE; at least what the frame's pilots measure
    channel : complex64 [N_used] channel estimate on the used carriers, as seen by FFT windows
              that start ``fft_backoff_samples`` before each symbol body (so a flat channel
              shows a linear phase of that many samples)
    sfo_ppm : sample-clock offset measured from the pilots' timing drift, as
              ``ChannelConfig.sfo_ppm`` counts it (the received stream is the sent one read at
              times m (1 + sfo_ppm 1e-6))
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
    sfo_ppm: float = 0.0
    fft_backoff_samples: int = 0

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
    candidates: int = 0          # detection metric local maxima above the threshold
    false_triggers: int = 0      # candidates the LTF did not confirm (or weak ones inside a decoded frame)
    header_failures: int = 0     # confirmed preambles whose header failed its checks
    frames: int = 0              # frames decoded (inferred ones included)
    inferred: int = 0            # frames decoded where their decoded neighbours place them
    truncated: int = 0           # frames cut by the end of the stream
    payload_crc_failures: int = 0
    damaged: int = 0             # analog frames refused: a fault (NaN/inf, lost samples) or a pilot jump inside
    nonfinite_samples: int = 0   # NaN/inf samples in the input (set to 0)


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
    header_ok: np.ndarray    # bool: header checks passed on a confirmed preamble
    spec: np.ndarray         # complex64 [B, 2 + header symbols, N]: LTF copies and header, CFO removed
    inferred: np.ndarray     # bool: header fields and place implied by the neighbouring frames
    backoff: np.ndarray      # int64 FFT window backoff (samples before each symbol body)

    def take(self, idx: np.ndarray) -> "_Sync":
        """The results of candidates ``idx`` (new arrays)."""
        return _Sync(*(v.select(idx) if isinstance(v, ChannelEstimate) else v[idx]
                       for v in (getattr(self, f.name) for f in fields(self))))

    def join(self, other: "_Sync") -> "_Sync":
        """This pass's candidates followed by ``other``'s."""
        def cat(a, b):
            return ChannelEstimate.concat([a, b]) if isinstance(a, ChannelEstimate) else np.concatenate([a, b])
        return _Sync(*(cat(getattr(self, f.name), getattr(other, f.name)) for f in fields(self)))


class StreamReceiver:
    """Finds and decodes frames in a complex64 stream pushed in chunks of any size.

    ``push(chunk)`` returns the frames completed so far; ``flush()`` ends the stream and returns
    what is left. Work is batched: the stream is processed once ``batch_samples`` new samples
    have arrived (``batch_samples=1`` processes every chunk at once, at a higher cost per
    sample). Results do not depend on how the stream is cut into chunks: every decision is taken
    on the same samples, once they have all arrived.

    ``estimator`` / ``equalizer``: callables (see :mod:`.estimation`, :mod:`.equalization`) in
    place of ``modem.channel_estimator`` / ``modem.equalizer``; ``dc_block``: remove the
    receiver's DC (:mod:`.conditioning`); ``debug``: keep a record per candidate and per frame
    in ``debug_log`` (a list of dicts, like gr-digital's ``debug_log``) for whoever tunes it.
    """

    def __init__(self, ofdm: OfdmConfig, modem: ModemConfig, batch_samples: int = 1 << 16, *,
                 estimator=None, equalizer=None, dc_block: bool = True, debug: bool = False):
        if isinstance(batch_samples, bool) or not isinstance(batch_samples, int) or batch_samples < 1:
            raise ValueError(f"batch_samples = {batch_samples!r}: allowed integers >= 1")
        self.ofdm, self.modem = ofdm, modem
        self.batch_samples = batch_samples
        self.estimator = estimator or ESTIMATORS[modem.channel_estimator]()
        self.equalizer = equalizer or EQUALIZERS[modem.equalizer]()
        self.debug_log: list[dict] | None = [] if debug else None
        cp = ofdm.cp_length_samples
        self._dec = decimation(ofdm)
        self._half = math.ceil(preamble_length(ofdm) / self._dec)   # local-maximum half window (grid steps)
        self._margin = cp + self._dec                        # timing search either side
        self._num_header = fr.num_header_symbols(ofdm)
        self._header_end = preamble_length(ofdm) + self._num_header * ofdm.symbol_length_samples
        self._window = self._margin + self._header_end + self._margin
        self._history = (self._half + 2) * self._dec + self._margin
        self._ltf = ltf_time(ofdm)
        g = int(math.floor((modem.max_cfo_subcarriers + 1) / 2))
        self._shifts = 2 * np.arange(-g, g + 1)
        self._input = InputConditioner(dc_block)
        self.reset()

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
        self._last: Anchor | None = None    # the last accepted frame
        self._input.reset(at)

    # -- public API ---------------------------------------------------------------------------
    def push(self, chunk: np.ndarray) -> list[ReceivedFrame]:
        chunk = np.asarray(chunk)
        if chunk.ndim != 1 or not np.iscomplexobj(chunk):
            raise ValueError(f"chunk must be a 1-D complex array, got {chunk.dtype} {chunk.shape}")
        self.stats.samples += chunk.size
        self._queue(self._input.push(chunk))
        if self._pending_samples < self.batch_samples:
            return []
        return self._process()

    def flush(self) -> list[ReceivedFrame]:
        """End of stream: decide every remaining candidate (frames cut short are counted)."""
        self._queue(self._input.flush())
        self._real_end = self._base + self._buf.size + self._pending_samples
        self._pending.append(np.zeros(self._window + self._history + 2 * self._dec, np.complex64))
        frames = self._process()
        self._restart(self._real_end)
        return frames

    def _queue(self, samples: np.ndarray) -> None:
        self.stats.nonfinite_samples = self._input.nonfinite
        if samples.size:
            self._pending.append(samples)
            self._pending_samples += samples.size

    def _log(self, **record) -> None:
        if self.debug_log is not None:
            self.debug_log.append(record)

    # -- the stream loop ----------------------------------------------------------------------
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
        self._input.forget_before(keep_from)
        return frames

    def _infer_missing(self, x: np.ndarray, sync: _Sync, accepted: list[int]) -> tuple[_Sync, list[int]]:
        """The frames a regular train implies (:mod:`.inference`), appended to ``sync``, with all
        accepted rows in stream order; one that its header symbols do not confirm is dropped."""
        cfg, base = self.ofdm, self._base
        anchors = [self._last] if self._last is not None else []
        for i in accepted:
            kind, length = int(sync.kind[i]), int(sync.length[i])
            period = fr.frame_length_samples(cfg, kind, length) + self.modem.gap_samples
            anchors.append(Anchor(int(sync.seq[i]), int(sync.start[i]), kind, length, period, float(sync.eps[i]),
                                  int(sync.backoff[i])))
        if anchors:
            self._last = anchors[-1]
        implied = [f for f in implied_frames(anchors, self.modem.max_inferred_frames, cfg.cp_length_samples)
                   if f.start >= base]
        if not implied:
            return sync, accepted
        extra = self._frames_at(x, np.array([f.start - base for f in implied], np.int64),
                                np.array([f.eps for f in implied]), np.zeros(len(implied), bool),
                                np.array([f.backoff for f in implied], np.int64), implied=True)
        extra.seq[:], extra.kind[:], extra.length[:] = np.array([(f.seq, f.kind, f.length) for f in implied]).T
        extra.confirmed[:] = extra.inferred[:] = True
        # the slot must hold our preamble's LTF (not a tone or a burst of interference; silence
        # fails the SNR test later), matched less strictly than at detection: the train already
        # says a frame is there, and it is there because it is in a fade
        _, timing = self._ltf_timing(x, extra.start - base, extra.eps)
        extra.header_ok[:] = timing.match >= INFERRED_LTF_MATCH
        keep = np.flatnonzero(extra.header_ok)
        extra = extra.take(keep)
        rows = accepted + list(range(sync.start.size, sync.start.size + keep.size))
        sync = sync.join(extra)
        return sync, sorted(rows, key=lambda i: sync.start[i])

    # -- synchronisation ----------------------------------------------------------------------
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
        """Batched CFO, timing, confirmation, channel estimation and header decoding at candidate
        offsets; candidates that are not preambles cost no channel estimate."""
        cfg, n, cp = self.ofdm, self.ofdm.fft_size, self.ofdm.cp_length_samples
        batch = rel.size
        # fractional CFO from the S&C phase, then the even integer part from the LTF copies,
        # FFT taken early (inside the guard interval) at the coarse timing
        eps_a = np.angle(p_metric).astype(np.float64) / np.pi
        t1 = rel + ltf_offset(cfg) - cp // 2
        starts = t1[:, None] + np.array([0, n])
        ltf = gather_blocks(x, starts, n) * cfo_ramp(eps_a, starts - rel[:, None], n, n)
        eps1 = eps_a + integer_cfo(scipy.fft.fft(ltf.sum(axis=1), axis=1), cfg, self._shifts)
        lo, timing = self._ltf_timing(x, rel, eps1)
        t_ltf = lo + timing.first                                          # first LTF body in x
        start = t_ltf - ltf_offset(cfg)                                    # frame start in x
        # fine CFO from the lag-N repetition (GI tail + T1 against T1 + T2, N + CP products,
        # ending ``backoff`` early so no echo of the sync symbol reaches them): its phase gives
        # eps modulo 1, unwrapped around eps1
        a = gather_blocks(x, (t_ltf - cp - timing.backoff)[:, None], n + cp)[:, 0]
        b = gather_blocks(x, (t_ltf - cp - timing.backoff + n)[:, None], n + cp)[:, 0]
        rep = np.sum(b * np.conj(a), axis=1)
        frac = np.angle(rep) / (2 * np.pi)
        # confirmation: normalised lag-N correlation of the LTF (~ SNR / (1 + SNR), any channel)
        # and the match with the known LTF (a tone or a foreign preamble repeats but does not match)
        rho = np.abs(rep) / np.sqrt(np.maximum(np.sum(np.abs(a) ** 2, 1) * np.sum(np.abs(b) ** 2, 1), 1e-30))
        eps = eps1 + np.mod(frac - eps1 + 0.5, 1.0) - 0.5
        confirmed = (rho >= LTF_CONFIRM) & (timing.match >= LTF_MATCH)
        for i in range(batch if self.debug_log is not None else 0):
            self._log(stage="sync", start=int(start[i] + self._base), cfo_subcarriers=float(eps[i]),
                      ltf_repetition=float(rho[i]), ltf_match=float(timing.match[i]),
                      backoff=int(timing.backoff[i]), confirmed=bool(confirmed[i]))
        return self._frames_at(x, start, eps, confirmed, timing.backoff)

    def _ltf_timing(self, x: np.ndarray, rel: np.ndarray, eps: np.ndarray):
        """Fine timing around frame starts ``rel`` (in x) with CFO ``eps``: the cross-correlation with
        both LTF copies over lags -m..m of the expected position (m = CP + D). Returns (lo int64
        [B], the sample of lag 0 in x; :class:`~.sync.PathTiming`)."""
        cfg, n, m = self.ofdm, self.ofdm.fft_size, self._margin
        batch = rel.size
        rows = np.arange(batch)
        lo = rel + ltf_offset(cfg) - m
        span = 2 * n + 2 * m
        region = gather_blocks(x, lo[:, None], span) * cfo_ramp(eps, np.zeros((batch, 1)), span, n)
        seg = sliding_window_view(region[:, 0], n, axis=1)                 # [B, span - n + 1, n]
        corr = seg @ np.conj(self._ltf)
        c = corr[:, :2 * m + 1] + corr[:, n:n + 2 * m + 1]
        power = c.real ** 2 + c.imag ** 2
        # energy of the two LTF periods at the strongest lag, for the match with the known LTF
        csum = np.cumsum(np.abs(region[:, 0]) ** 2, axis=1)
        lag = np.argmax(power, axis=1)
        energy = csum[rows, lag + 2 * n - 1] - np.where(lag > 0, csum[rows, np.maximum(lag - 1, 0)], 0)
        return lo, path_timing(power, energy * 2 * np.sum(np.abs(self._ltf) ** 2), cfg)

    def _header_times(self) -> np.ndarray:
        """float [H]: the header symbols' FFT windows, in samples from the LTF estimate's reference."""
        cfg = self.ofdm
        return (preamble_length(cfg) + cfg.cp_length_samples + cfg.symbol_length_samples * np.arange(self._num_header)
                - (ltf_offset(cfg) + cfg.fft_size / 2))

    def _frames_at(self, x: np.ndarray, start: np.ndarray, eps: np.ndarray, decode: np.ndarray,
                   backoff: np.ndarray, implied: bool = False) -> _Sync:
        """Channel estimates at frame starts ``start`` (in x) with CFO ``eps``, and the headers of
        frames ``decode`` (bool [B]). Detected candidates that are not decoded get no estimate
        (their rows hold zeros and count as unconfirmed); ``implied`` frames all get one."""
        cfg, n, cp, h = self.ofdm, self.ofdm.fft_size, self.ofdm.cp_length_samples, self._num_header
        batch = start.size
        seq, kind, length = (np.zeros(batch, np.int64) for _ in range(3))
        ok = np.zeros(batch, bool)
        spec = np.zeros((batch, 2 + h, n), np.complex64)
        est = ChannelEstimate(np.zeros((batch, cfg.num_used_carriers), np.complex64), np.ones(batch),
                              np.ones(batch), np.zeros(batch, np.int64))
        work = np.arange(batch) if implied else np.flatnonzero(decode)
        if work.size:
            s, e, bo = start[work], eps[work], backoff[work]
            t_ltf = s + ltf_offset(cfg)
            # CFO removed with the phase reference at the frame start
            sym = cfg.symbol_length_samples
            fft_at = np.concatenate([(t_ltf - bo)[:, None] + np.array([0, n]),
                                     (s + preamble_length(cfg) + cp - bo)[:, None] + sym * np.arange(h)], axis=1)
            y = ofdm_demodulate(gather_blocks(x, fft_at, n) * cfo_ramp(e, fft_at - s[:, None], n, n), cfg)
            w_est = self.estimator(y[:, :2], ltf_values(cfg)[None, None], cfg, (bo - 4, np.full_like(bo, cp + 4)))
            spec[work] = y
            est.h[work], est.noise_var[work], est.error_var[work], est.num_taps[work] = \
                w_est.h, w_est.noise_var, w_est.error_var, w_est.num_taps
            c = np.flatnonzero(decode[work])
            if c.size:
                eqh = equalize(y[c, 2:], w_est.select(c), cfg, "zf", times=self._header_times(), sfo=False)
                llr = demap_soft(eqh.x, np.broadcast_to(eqh.no_eff, eqh.x.shape), "bpsk")
                d = work[c]
                seq[d], kind[d], length[d], ok[d] = fr.decode_headers(llr, cfg)
        return _Sync(start + self._base, eps, decode.copy(), est, seq, kind, length, ok, spec,
                     np.zeros(batch, bool), backoff.astype(np.int64))

    # -- payloads -----------------------------------------------------------------------------
    def _estimate_with_header(self, sync: _Sync, idx: np.ndarray, kind: int, length: int) -> ChannelEstimate:
        """The channel of frames ``idx`` (one kind and length) estimated again, from the LTF copies
        and the header symbols, whose REs are known once the header is (decoded and checked, or
        implied): 2 + H known symbols instead of 2. Each header symbol is first turned back by its
        common phase against the LTF estimate (residual CFO, phase noise), measured on all its
        used carriers."""
        cfg, h = self.ofdm, self._num_header
        y = sync.spec[idx]                                      # a copy [B, 2 + H, N]
        known = np.empty_like(y)
        known[:, :2] = ltf_values(cfg)
        known[:, 2:] = map_resource_grid(fr.header_symbols(sync.seq[idx], kind, length, cfg), cfg, pilot_values(cfg, h))
        bins = cfg.fft_bins(cfg.used_carriers)
        phasor = np.sum(y[:, 2:, bins] * np.conj(known[:, 2:, bins] * sync.est.h[idx, None]), axis=-1)   # [B, H]
        y[:, 2:] *= (np.conj(phasor) / np.maximum(np.abs(phasor), 1e-30))[..., None]
        lags = (sync.backoff[idx] - 4, np.full(idx.size, self.ofdm.cp_length_samples + 4))
        return self.estimator(y, known, cfg, lags)

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
            bo = sync.backoff[idx]
            # payload symbols (one row per symbol, FFT window first), CFO removed with the
            # frame-start phase reference, RE scaling folded into the ramp
            first = preamble_length(cfg) + h * sym + cfg.cp_length_samples - bo            # [B]
            bodies = gather_blocks(x, (start + first)[:, None] + sym * np.arange(num_pay), n)
            rel = first[:, None] + sym * np.arange(num_pay)
            outer, inner = cfo_ramp(sync.eps[idx], rel, n, n, gain=1 / time_scale(cfg), split=True)
            bodies *= inner[:, None, :]                  # the per-symbol phasor is applied after the FFT
            spec = scipy.fft.fft(bodies, axis=-1, norm="ortho", overwrite_x=True)
            # the header spectra from synchronisation join them, so tracking spans the frame
            spec = np.concatenate([sync.spec[idx, 2:], spec], axis=1)
            rotation = np.concatenate([np.ones((idx.size, h), np.complex64), outer], axis=1)
            est = self._estimate_with_header(sync, idx, kind, length)
            # FFT windows in samples from the estimate's reference (the mean of the LTF and header windows)
            windows = preamble_length(cfg) + cfg.cp_length_samples + sym * np.arange(num_sym)
            ltf_windows = ltf_offset(cfg) + np.array([0, n])
            times = windows - np.mean(np.concatenate([ltf_windows, windows[:h]]))
            equalizer = self.equalizer if kind == 0 else EQUALIZERS["zf"]()
            eq = equalize(spec, est, cfg, equalizer, rotation=rotation, times=times)
            track = eq.tracking
            # no_eff follows what the pilots measure where it is significantly more than the model
            excess = track.residual > 1 + RESIDUAL_SIGMAS / np.sqrt(num_sym * len(cfg.pilot_carriers))
            scale = np.where(excess, track.residual, 1.0).astype(np.float32)
            nres = fr.payload_num_res(kind, length)
            xs = eq.x[:, h:].reshape(idx.size, -1)[:, :nres]
            no = (np.broadcast_to(eq.no_eff, eq.x.shape)[:, h:].reshape(idx.size, -1)[:, :nres] + track.error_var[:, None]) \
                * scale[:, None]
            gain = np.mean(np.abs(est.h[:, data_pos]) ** 2, axis=1)
            snr_db = 10 * np.log10(np.maximum(gain / np.maximum(est.noise_var, 1e-30), 1e-30))
            # residual CFO from the slope of the tracked phase (rad per symbol)
            s = np.arange(num_sym) - (num_sym - 1) / 2
            eps = sync.eps[idx] + (track.phase @ s / (s @ s)) / (2 * np.pi * sym / n)
            sfo_ppm = -track.rate * 1e6
            if kind > 0:
                nbits = 8 * (length + fr.PAYLOAD_CRC_BYTES)
                bits = scramble(demap_hard(xs, fr.KINDS[kind])[:, :nbits])
                raw = np.packbits(bits, axis=1)
            frame_len = fr.frame_length_samples(cfg, kind, length)
            for j, i in enumerate(idx):
                if sync.inferred[i] and not snr_db[j] >= INFERRED_MIN_SNR_DB:
                    continue
                a = int(sync.start[i])
                damaged = kind == 0 and (track.step[j] > STEP_LIMIT or not np.isfinite(track.step[j])
                                         or self._input.faults_in(a + sym, a + frame_len))
                self._log(stage="payload", seq=int(sync.seq[i]), start=a, sfo_ppm=float(sfo_ppm[j]),
                          pilot_residual=float(track.residual[j]), pilot_step=float(track.step[j]), damaged=bool(damaged))
                if damaged:
                    self.stats.damaged += 1
                    continue
                self.stats.inferred += bool(sync.inferred[i])
                f = ReceivedFrame(seq=int(sync.seq[i]), kind=fr.KINDS[kind], start=a,
                                  symbols=xs[j], no_eff=no[j], snr_db=float(snr_db[j]),
                                  cfo_hz=float(eps[j] * cfg.subcarrier_spacing_hz), cfo_subcarriers=float(eps[j]),
                                  noise_var=float(est.noise_var[j]), channel=est.h[j], inferred=bool(sync.inferred[i]),
                                  sfo_ppm=float(sfo_ppm[j]), fft_backoff_samples=int(bo[j]))
                if kind > 0:
                    f.payload = raw[j, :length].tobytes()
                    f.payload_crc_ok = crc32(f.payload) == int.from_bytes(raw[j, length:].tobytes(), "big")
                    self.stats.payload_crc_failures += not f.payload_crc_ok
                out[int(i)] = f
        self.stats.frames += len(out)
        return [out[i] for i in accepted if i in out]


def receive(iq: np.ndarray, ofdm: OfdmConfig, modem: ModemConfig, **options) -> tuple[list[ReceivedFrame], ReceiverStats]:
    """Decode every frame of a complete recording: ``push(iq)`` then ``flush()`` (``options``:
    :class:`StreamReceiver`'s keywords)."""
    rx = StreamReceiver(ofdm, modem, **options)
    frames = rx.push(iq) + rx.flush()
    return frames, rx.stats
