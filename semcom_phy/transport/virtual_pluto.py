"""A virtual ADALM-PlutoSDR: the part of ``adi.Pluto`` (pyadi-iio 0.0.21) a transport uses, with the
driver's checks and error types and a radio's behaviour, so transports are tested without hardware.

Signal chain, per transmitting radio, in 12-bit converter codes (full scale 2048):
``tx(iq)`` casts I and Q with ``astype(np.int16)`` like the driver (no scaling; out-of-range
values wrap like numpy's cast: on x86-64/aarch64 40000.0 -> -25536, beyond int32 undefined) ->
the DAC keeps the top 12 bits (``int16 >> 4``, so int16 +-2**15 is DAC full scale) -> plus the TX
LO leakage (``tx_lo_leakage_dbfs``: a carrier at the TX LO, i.e. a constant in the transmitted
baseband, relative to DAC full scale, while a buffer plays) -> TX gain (an attenuation, <= 0 dB)
-> ``VirtualAir.path_loss_db`` -> the receiver's sample clock (below) -> a carrier offset
``tx_lo * (1 + ppm_tx*1e-6) - rx_lo * (1 + ppm_rx*1e-6)``, each LO also scaled by 40 MHz over
the radio's ``_ctrl.attrs["xo_correction"]`` (the reference frequency its driver assumes;
received only when the TX carrier lies in the RX passband, ``|tx_lo - rx_lo| <=
rx_rf_bandwidth / 2``, and both radios run the same ``sample_rate``) and a random carrier
phase per LO tuning -> plus receiver noise (``noise_floor_dbfs``, referred to 0 dB RX gain)
-> RX gain -> plus the RX DC offset (``rx_dc_dbfs``: a direct-conversion receiver's LO leakage
left after the AD9361's DC tracking, referred to the ADC: the same in codes at any RX gain) ->
rounded to 12-bit codes, saturated at [-2048, 2047]. Net gain is
``tx_hardwaregain + rx_gain - path_loss_db``: with the defaults (path loss 30 dB, TX 0 dB, RX 30 dB) a 2**14-scaled unit-power signal (-6 dBFS RMS) arrives at
1024 codes RMS (-6 dBFS) with a noise floor at -31 dBFS: SNR 25 dB, whatever the RX gain until
the ADC clips. In the AGC modes the gain of each captured buffer puts its peak 6 dB below full
scale (an ideal AGC: no attack time; it sets the gain from the signal, not the DC). The air is
shared: every radio on it hears every transmitter on it, its own included (a one-radio air is a
TX->RX cable). Not modelled: TX noise, filters, IQ imbalance, the RX gain table's dependence on
the band.

Sample clock: a board's one crystal drives its LO and its converters, so each radio's DAC and ADC
run at ``sample_rate`` times the same factor as its LO (``(1 + xo_ppm 1e-6)`` times 40 MHz over
``xo_correction``). A receiver whose crystal is fast by p ppm relative to the transmitter's
takes ``1 + p 1e-6`` samples per transmitted sample (a tone at f comes out at ``f / (1 + p 1e-6)``)
and sees the TX carrier p ppm of the LO lower. Each transmitted stream is resampled onto the
receiver's sample instants by the 32-tap band-limited interpolator of
:mod:`semcom_phy.channel.impairments` (error below -80 dB for a band within +-0.4 of the rate),
continuously across ``rx()`` calls and cyclic repeats; where TX and RX clocks agree and the
instants line up (one board, or boards at the same ppm) the samples are taken as they are.
``VirtualAir(sample_clock_offset=False)`` keeps every converter on the air's clock (carrier
offset only). A TX buffer plays at the clock its radio had when ``tx()`` queued it.

Overflows: a receiver whose host does not keep up loses kernel blocks (``overflow_probability``:
each block of ``rx_buffer_size`` samples the kernel would fill is lost with that probability, so
a run of k blocks with its k-th power). The stream skips them: the next ``rx()`` buffer starts
later in air time and nothing is reported, as with pyadi-iio. ``dropped_samples`` counts what is
missing from the buffers ``rx()`` returned so far (virtual only, for tests).

Defaults: ``xo_ppm`` 0 (a board alone is its own reference), sample-clock offset on (it follows
the ppm), no DC offset, no TX LO leakage, no overflows, so a radio built without them behaves as
before they were modelled. :func:`semcom_phy.transport.pluto.virtual_radios` (the virtual boards
of ``scripts/ota.py``, ``scripts/loopback.py`` and ``hardware/check_pluto.py``) sets real boards'
values: 20 ppm apart, ``rx_dc_dbfs`` -40 dBFS (20.5 codes), ``tx_lo_leakage_dbfs`` -55 dBFS (-36 dBc
for its bursts at -19 dBFS RMS). The DC and leakage phases are drawn once per radio from
``(seed, 1)``, a generator of their own (the carrier phases stay those of ``seed``).

Time: the air counts samples on one clock (``VirtualAir.now``: where a ``tx()`` issued now starts
playing; it advances as receivers capture). A cyclic buffer repeats from ``tx()`` until
``tx_destroy_buffer()``, phase-continuously; a non-cyclic one plays once, right after the
radio's previous non-cyclic buffer; destroying the TX buffer cuts what has not yet played (as the
kernel aborts the DMA). Each receiver streams: consecutive ``rx()`` calls return consecutive
samples, and the kernel holds 4 buffers captured before ``rx()`` asked, so after a retune (or any
setting change) the next 4 buffers still carry the old setting's samples unless
``rx_destroy_buffer()`` flushes them (how many: ``_rxadc.set_kernel_buffers_count``, as in
pyadi-iio); ``rx_buffer_size`` takes effect when the buffer is created
(first ``rx()`` after a destroy), as with libiio. A TX buffer issued before the RX buffer exists is
captured from its start (hardware, whose buffer creation takes milliseconds, may miss its head).
"""
# ruff: noqa: TRY002, TRY004 - bare Exception with the driver's messages, on purpose

from __future__ import annotations

import errno
import math
import os
import re
import weakref
from collections import deque
from collections.abc import Callable

import numpy as np

from ..channel.impairments import INTERP_HALF_WIDTH_SAMPLES, _interp_at
from ..validation import check_bool, check_number, check_optional

ADC_FULL_SCALE = 2048                # 12-bit codes: rx() I and Q lie in [-2048, 2047]
DAC_FULL_SCALE = 2048                # 12-bit DAC code = int16 >> 4 (int16 full scale 2**15)
KERNEL_BUFFERS = 4                   # RX buffers the kernel fills ahead of rx() (libiio's default)
XO_NOMINAL_HZ = 40_000_000           # Pluto's reference oscillator
AGC_PEAK_DBFS = -6.0                 # where the AGC modes put the largest I or Q value
GAIN_MODES = ("manual", "slow_attack", "fast_attack", "hybrid")
RX_GAIN_RANGE = (-3.0, 71.0)
TX_GAIN_RANGE = (-89.75, 0.0)
SAMPLE_RATE_MAX = 61.44e6
XO_PPM_RANGE = (-1000.0, 1000.0)     # what xo_correction can trim (+-1e-3 of 40 MHz)
DC_DBFS_RANGE = (-120.0, 0.0)        # rx_dc_dbfs, tx_lo_leakage_dbfs
OVERFLOW_PROBABILITY_MAX = 0.9
LIMITS = {False: ((325_000_000, 3_800_000_000), (200_000, 20_000_000)),   # AD9363: LO, RF bandwidth
          True: ((70_000_000, 6_000_000_000), (200_000, 56_000_000))}     # AD9364


def _einval() -> OSError:
    """What libiio raises when the kernel driver refuses an attribute write."""
    return OSError(errno.EINVAL, os.strerror(errno.EINVAL))


def _numbers(s: str):
    """adi.attribute.get_numbers: how the driver parses an attribute (an int when integral)."""
    v = [float(i) for i in re.findall(r"[-+]?[.]?[\d]+(?:,\d\d\d)*[\.]?\d*(?:[eE][-+]?\d+)?", s)]
    if len(v) == 1:
        v = v[0]
        if int(v) == v:
            v = int(v)
    return v


def _as_int(value) -> int:
    if not isinstance(value, int):                    # adi.attribute._set_iio_attr_int
        raise Exception("Value must be an int")
    return value


def _as_float(value) -> float:
    if isinstance(value, int):                        # adi.attribute._set_iio_attr_float
        value = float(value)
    if not isinstance(value, float):
        raise Exception("Value must be a float")
    return value


class _Tx:
    """One TX buffer on the air: normalised samples ``data`` (complex128 [N], DAC full scale 1)
    played from air time ``start`` at ``rate`` samples per air sample (its radio's sample clock),
    cyclically or once; ``count``: how many samples it plays (None: a cyclic buffer not yet cut)."""

    def __init__(self, radio, data, start, cyclic, rate):
        self.radio, self.data, self.start, self.cyclic, self.rate = radio, data, start, cyclic, rate
        self.count = None if cyclic else data.size

    @property
    def end(self):
        """Air time right after its last sample (None: playing until destroyed)."""
        return None if self.count is None else self.start + self.count / self.rate


class VirtualAir:
    """The medium between virtual radios: a cable with an attenuator by default.

    path_loss_db : loss from TX port to RX port (dB, [0, 200])
    noise_floor_dbfs : receiver noise power (complex, dB relative to ADC full scale 2048) referred to
        0 dB RX gain, [-200, 0]; at the ADC it is ``noise_floor_dbfs + rx gain``
    delay_samples : propagation delay (samples, a whole number >= 0)
    sample_clock_offset : each radio's converters run on its own crystal (True, the default: a
        receiver resamples what boards at another ppm send) or all on the air's clock (False)
    seed / rng : the noise generator
    """

    def __init__(self, path_loss_db: float = 30.0, noise_floor_dbfs: float = -61.0,
                 delay_samples: int = 0, sample_clock_offset: bool = True, seed: int = 0,
                 rng: np.random.Generator | None = None):
        if isinstance(delay_samples, bool) or not isinstance(delay_samples, (int, float, np.integer, np.floating)) \
                or not (math.isfinite(delay_samples) and int(delay_samples) == delay_samples >= 0):
            raise ValueError(f"VirtualAir.delay_samples = {delay_samples!r}: allowed a whole number of samples >= 0")
        check_bool(sample_clock_offset, "sample_clock_offset", owner=self)
        self.path_loss_db = check_number(path_loss_db, "path_loss_db", 0.0, 200.0, owner=self)
        self.noise_floor_dbfs = check_number(noise_floor_dbfs, "noise_floor_dbfs", -200.0, 0.0, owner=self)
        self.delay_samples = int(delay_samples)
        self.sample_clock_offset = sample_clock_offset
        self.rng = rng if rng is not None else np.random.default_rng(seed)
        self.now = 0                                  # air clock: where a tx() issued now starts
        self._txs: list[_Tx] = []
        self._radios = weakref.WeakSet()

    def _clock(self, radio) -> float:
        """The radio's converter clock in samples per air sample."""
        return radio._xo_scale if self.sample_clock_offset else 1.0

    def _transmit(self, radio, data: np.ndarray, start: float, cyclic: bool) -> _Tx:
        tx = _Tx(radio, data, max(start, self.now), cyclic, self._clock(radio))
        self._txs.append(tx)
        return tx

    def _stop(self, radio) -> None:
        """Cut what ``radio`` has not yet played (TX buffer destroyed)."""
        for tx in self._txs:
            if tx.radio is radio:
                played = max(0, math.ceil((self.now - tx.start) * tx.rate))   # samples before now
                tx.count = played if tx.count is None else min(tx.count, played)
        self._txs = [tx for tx in self._txs if tx.count != 0]

    def _prune(self) -> None:
        """Forget buffers no receiver can hear any more (the interpolator reaches 16 samples past)."""
        horizon = min([self.now] + [r._cap for r in self._radios if r._rxq is not None])
        reach = self.delay_samples + INTERP_HALF_WIDTH_SAMPLES
        self._txs = [tx for tx in self._txs if tx.end is None or tx.end + reach > horizon]

    @staticmethod
    def _aligned(tx: _Tx, u0: int, n: int) -> tuple[np.ndarray, np.ndarray]:
        """The outputs (int64 [M]) that buffer samples u0, u0+1, ... reach and their samples
        (complex128 [M]): TX and RX clocks agree and the instants line up."""
        lo, hi = max(u0, 0), u0 + n if tx.count is None else min(u0 + n, tx.count)
        j = np.arange(lo, hi, dtype=np.int64)
        return j - u0, tx.data[j % tx.data.size if tx.cyclic else j]

    @staticmethod
    def _resampled(tx: _Tx, u0: float, step: float, n: int) -> tuple[np.ndarray, np.ndarray]:
        """The outputs (int64 [M]) the buffer reaches when output i sits at buffer position
        ``u0 + i step`` (TX samples, float64) and their band-limited values (complex64 [M]); a
        cyclic buffer is interpolated across its repeats, the stream is zero before sample 0 and
        from sample ``count`` on."""
        w = INTERP_HALF_WIDTH_SAMPLES
        lo = max(0, math.ceil((-w - u0) / step))
        hi = n if tx.count is None else min(n, math.ceil((tx.count + w - u0) / step))
        if hi <= lo:
            return np.zeros(0, np.int64), np.zeros(0, np.complex64)
        i = np.arange(lo, hi, dtype=np.int64)
        u = u0 + i * step
        first = max(0, math.floor(u[0]) - w)
        last = math.floor(u[-1]) + w + 1 if tx.count is None else min(math.floor(u[-1]) + w + 1, tx.count)
        j = np.arange(first, last, dtype=np.int64)
        x = tx.data[j % tx.data.size].astype(np.complex64)
        return i, _interp_at(x, u, offset=first)

    def _render(self, rx, t0: float, n: int) -> np.ndarray:
        """What ``rx`` sees at its antenna for its next n samples, the first at air time t0 and
        then every 1 / (its clock) air samples, in ADC codes at 0 dB RX gain (signals plus receiver
        noise), complex128 [n]."""
        y = np.zeros(n, np.complex128)
        clock = self._clock(rx)
        t = t0 - self.delay_samples                   # TX time of the first sample
        for tx in self._txs:
            src = tx.radio
            if src._fs != rx._fs or abs(src._tx_lo - rx._rx_lo) > rx._rx_bw / 2:
                continue
            step, u0 = tx.rate / clock, (t - tx.start) * tx.rate   # TX samples per RX sample, first position
            if step == 1.0 and u0 == math.floor(u0):
                i, x = self._aligned(tx, int(u0), n)
            else:
                i, x = self._resampled(tx, u0, step, n)
            if i.size == 0:
                continue
            k = t + i / clock                         # TX (air) times of the outputs
            f = src._tx_lo * src._xo_scale - rx._rx_lo * rx._xo_scale
            cycles = np.mod(k * (f / rx._fs), 1.0)    # phase-continuous on the air clock
            rot = np.exp(1j * (2 * np.pi * cycles + src._tx_phase - rx._rx_phase))
            amp = ADC_FULL_SCALE * 10 ** ((src._tx_gain - self.path_loss_db) / 20)
            y[i] += amp * x * rot
        sigma = ADC_FULL_SCALE * 10 ** (self.noise_floor_dbfs / 20) / np.sqrt(2)
        y += sigma * (self.rng.standard_normal(n) + 1j * self.rng.standard_normal(n))
        return y


class _Attr:
    """A libiio attribute: ``value`` is a string; writes outside ``check`` raise EINVAL."""

    def __init__(self, value: str, check=lambda v: True):
        self._value, self._check = value, check

    @property
    def value(self) -> str:
        return self._value

    @value.setter
    def value(self, v) -> None:
        if not self._check(str(v)):
            raise _einval()
        self._value = str(v)


class _Device:
    """The ``ad9361-phy`` device's attributes the transport touches (``_ctrl.attrs`` in pyadi-iio)."""

    def __init__(self, attrs: dict):
        xo_ok = lambda v: v.lstrip("-").isdigit() and abs(int(v) - XO_NOMINAL_HZ) <= 1e-3 * XO_NOMINAL_HZ  # noqa: E731
        self.attrs = {k: _Attr(v, xo_ok if k == "xo_correction" else lambda v: True) for k, v in attrs.items()}


class _RxAdc:
    """The ``cf-ad9361-lpc`` RX device: ``set_kernel_buffers_count`` (before the buffer exists)."""

    def __init__(self):
        self.kernel_buffers = KERNEL_BUFFERS

    def set_kernel_buffers_count(self, count: int) -> None:
        if int(count) != count or count < 1:
            raise _einval()
        self.kernel_buffers = int(count)


class VirtualPluto:
    """Stands in for ``adi.Pluto(uri)``. Boots with Pluto's defaults (RX 2.4 GHz, TX 2.45 GHz,
    30.72 MSPS, 18 MHz, slow_attack, TX -10 dB).

    air : the medium (a fresh ``VirtualAir(seed=seed)``, i.e. a TX->RX cable on this radio alone,
        when None)
    xo_ppm : the reference oscillator's error, ppm in [-1000, 1000] (sets the carrier offset and,
        on an air with ``sample_clock_offset``, the sample-clock offset between radios)
    ad9364 : the AD9364 ranges (LO 70 MHz - 6 GHz, 56 MHz) of a re-flashed Pluto instead of the
        AD9363's (325 MHz - 3.8 GHz, 20 MHz)
    rx_dc_dbfs : the receiver's DC offset (LO leakage), dB relative to ADC full scale 2048 in
        [-120, 0], referred to the ADC (the same at any RX gain); None (the default): none. Real
        boards: about -40 dBFS (20.5 codes) left after the AD9361's DC tracking
    tx_lo_leakage_dbfs : the TX LO leakage, a constant in the transmitted baseband while a buffer
        plays, dB relative to DAC full scale in [-120, 0] (scaled by the TX attenuation like the
        signal); None (the default): none
    overflow_probability : the chance that the kernel loses each RX block (a USB overflow),
        [0, 0.9]; 0 (the default): never. At ``p`` per block of n samples that is about
        ``p fs / n`` overflows a second
    seed : the carrier phases; ``(seed, 1)`` seeds the DC and leakage phases, then the overflows

    rx_dc : complex, the DC at the ADC in codes (0 when off); tx_lo_leakage : complex, the leakage
    in DAC full scale units (0 when off); dropped_samples : int, samples missing from what rx()
    has returned (overflows)
    """

    def __init__(self, uri: str = "ip:pluto.virtual", air: VirtualAir | None = None,
                 xo_ppm: float = 0.0, ad9364: bool = False, rx_dc_dbfs: float | None = None,
                 tx_lo_leakage_dbfs: float | None = None, overflow_probability: float = 0.0,
                 seed: int = 0):
        self.xo_ppm = check_number(xo_ppm, "xo_ppm", *XO_PPM_RANGE, owner=self)
        self.rx_dc_dbfs = check_optional(rx_dc_dbfs, "rx_dc_dbfs", *DC_DBFS_RANGE, owner=self)
        self.tx_lo_leakage_dbfs = check_optional(tx_lo_leakage_dbfs, "tx_lo_leakage_dbfs", *DC_DBFS_RANGE, owner=self)
        self.overflow_probability = check_number(overflow_probability, "overflow_probability", 0.0,
                                                 OVERFLOW_PROBABILITY_MAX, owner=self)
        self.uri = uri
        self.air = air if air is not None else VirtualAir(seed=seed)
        self.ad9364 = bool(ad9364)
        self._rng = np.random.default_rng(seed)
        self._hw_rng = np.random.default_rng((seed, 1))   # DC and leakage phases, then overflows
        dc_phase, leak_phase = self._hw_rng.uniform(0, 2 * np.pi, 2)
        self.rx_dc = 0j if rx_dc_dbfs is None else ADC_FULL_SCALE * 10 ** (rx_dc_dbfs / 20) * np.exp(1j * dc_phase)
        self.tx_lo_leakage = (0j if tx_lo_leakage_dbfs is None
                              else 10 ** (tx_lo_leakage_dbfs / 20) * np.exp(1j * leak_phase))
        self.dropped_samples = 0
        self._fs, self._rx_bw, self._tx_bw = 30_720_000, 18_000_000, 18_000_000
        self._rx_lo, self._tx_lo = 2_400_000_000, 2_450_000_000
        self._rx_phase, self._tx_phase = self._rng.uniform(0, 2 * np.pi, 2)
        self._gain_mode, self._rx_gain, self._tx_gain = "slow_attack", 71, -10.0
        self.rx_buffer_size = 1024
        self._tx_cyclic = False
        self._rx_chans, self._tx_chans = [0], [0]
        self._rxq: deque | None = None                # captured (buffer, samples lost before it); None: no RX buffer
        self._cap = 0                                 # air time of the next sample to capture
        self._tx_len: int | None = None               # TX buffer length (None: no TX buffer)
        self._tx_next = 0                             # air time where the next non-cyclic buffer plays
        self.air._radios.add(self)
        self._rxadc = _RxAdc()
        self._ctrl = _Device({"xo_correction": str(XO_NOMINAL_HZ)})

    @property
    def _xo_scale(self) -> float:
        """Actual / programmed LO and sample rate: the oscillator runs at ``XO_NOMINAL_HZ (1 + xo_ppm
        1e-6)``, the driver programs the PLLs as if it ran at its ``xo_correction`` attribute."""
        return XO_NOMINAL_HZ * (1 + self.xo_ppm * 1e-6) / float(self._ctrl.attrs["xo_correction"].value)

    def __repr__(self):
        return f'VirtualPluto(uri="{self.uri}")'

    # ---- attributes (read back through get_numbers, as the driver does) ----
    @property
    def sample_rate(self):
        return _numbers(str(self._fs))

    @sample_rate.setter
    def sample_rate(self, rate):
        if rate < 521e3:
            raise ValueError("Error: Does not currently support sample rates below 521e3")
        if rate > SAMPLE_RATE_MAX:
            raise _einval()
        self._fs = int(float(rate))

    def _lo(self, value) -> int:
        (lo_min, lo_max), _ = LIMITS[self.ad9364]
        if not lo_min <= _as_int(value) <= lo_max:
            raise _einval()
        return value

    @property
    def rx_lo(self):
        return _numbers(str(self._rx_lo))

    @rx_lo.setter
    def rx_lo(self, value):
        self._rx_lo, self._rx_phase = self._lo(value), self._rng.uniform(0, 2 * np.pi)

    @property
    def tx_lo(self):
        return _numbers(str(self._tx_lo))

    @tx_lo.setter
    def tx_lo(self, value):
        self._tx_lo, self._tx_phase = self._lo(value), self._rng.uniform(0, 2 * np.pi)

    def _bw(self, value) -> int:
        _, (bw_min, bw_max) = LIMITS[self.ad9364]
        if not bw_min <= _as_int(value) <= bw_max:
            raise _einval()
        return value

    @property
    def rx_rf_bandwidth(self):
        return _numbers(str(self._rx_bw))

    @rx_rf_bandwidth.setter
    def rx_rf_bandwidth(self, value):
        self._rx_bw = self._bw(value)

    @property
    def tx_rf_bandwidth(self):
        return _numbers(str(self._tx_bw))

    @tx_rf_bandwidth.setter
    def tx_rf_bandwidth(self, value):
        self._tx_bw = self._bw(value)

    @property
    def gain_control_mode_chan0(self) -> str:
        return self._gain_mode

    @gain_control_mode_chan0.setter
    def gain_control_mode_chan0(self, value):
        if value not in GAIN_MODES:
            raise _einval()
        self._gain_mode = value                       # manual keeps the gain the AGC left

    @property
    def rx_hardwaregain_chan0(self):
        """The manual gain, or in an AGC mode the gain of the last captured buffer (dB)."""
        return _numbers(f"{self._rx_gain:.6f} dB")

    @rx_hardwaregain_chan0.setter
    def rx_hardwaregain_chan0(self, value):
        if self._gain_mode == "manual":               # the driver ignores it in the AGC modes
            value = _as_float(value)
            if not RX_GAIN_RANGE[0] <= value <= RX_GAIN_RANGE[1]:
                raise _einval()
            self._rx_gain = int(value)                # 1 dB steps, truncated like the kernel

    @property
    def tx_hardwaregain_chan0(self):
        return _numbers(f"{self._tx_gain:.6f} dB")

    @tx_hardwaregain_chan0.setter
    def tx_hardwaregain_chan0(self, value):
        value = _as_float(value)
        if not TX_GAIN_RANGE[0] <= value <= TX_GAIN_RANGE[1]:
            raise _einval()
        self._tx_gain = -(round(-value * 1000) // 250 * 250) / 1000   # 0.25 dB steps, toward 0

    @property
    def tx_cyclic_buffer(self) -> bool:
        return self._tx_cyclic

    @tx_cyclic_buffer.setter
    def tx_cyclic_buffer(self, value):
        if self._tx_len is not None:
            raise Exception("TX buffer already created, buffer must be "
                            "destroyed then recreated to modify tx_cyclic_buffer")
        self._tx_cyclic = value

    @staticmethod
    def _channels(value, what: str) -> list:
        if not isinstance(value, list):
            raise Exception(f"{what}_enabled_channels must be a list")
        if not all(isinstance(x, int) for x in value):
            raise Exception(f"{what}_enabled_channels must be a list of integers or list of channel names")
        if max(value) > 0:
            raise Exception(f"{what.upper()} mapping exceeds available channels")
        return value

    @property
    def rx_enabled_channels(self) -> list:
        return self._rx_chans

    @rx_enabled_channels.setter
    def rx_enabled_channels(self, value):
        if not value:
            raise Exception("rx_enabled_channels cannot be empty")
        self._rx_chans = self._channels(value, "rx")

    @property
    def tx_enabled_channels(self) -> list:
        return self._tx_chans

    @tx_enabled_channels.setter
    def tx_enabled_channels(self, value):
        self._tx_chans = self._channels(value, "tx") if value else value

    # ---- buffers ----
    def tx(self, data_np=None) -> None:
        """Queue int16-cast IQ for transmission: cyclic (repeats until destroyed) or once."""
        if not self._tx_chans:
            if data_np is not None and len(data_np):
                raise Exception("When tx_enabled_channels is None or empty,"
                                " the input to tx() must be None or empty or not provided")
            return self.air._stop(self)
        if self._tx_len is not None and self._tx_cyclic:
            raise Exception("TX buffer has been submitted in cyclic mode. "
                            "To push more data the tx buffer must be destroyed first.")
        x = np.asarray(data_np)
        i, q = np.real(x).astype(np.int16), np.imag(x).astype(np.int16)   # as the driver: no scaling
        if self._tx_len is None:
            if i.ndim != 1 or i.size == 0:
                raise _einval()
            self._tx_len = i.size
        elif i.size != self._tx_len:
            raise Exception("Buffer length different than data length. Cannot change buffer length on the fly")
        data = ((i >> 4) + 1j * (q >> 4)) / DAC_FULL_SCALE          # the DAC's 12 bits, full scale 1
        if self.tx_lo_leakage:
            data = data + self.tx_lo_leakage
        tx = self.air._transmit(self, data, self._tx_next, self._tx_cyclic)
        if not tx.cyclic:
            self._tx_next = tx.end

    def tx_destroy_buffer(self) -> None:
        """Stop transmitting (what has not played yet is lost) and release the TX buffer."""
        self.air._stop(self)
        self._tx_len, self._tx_next = None, 0

    def rx_destroy_buffer(self) -> None:
        """Drop the RX buffer with the samples the kernel captured ahead."""
        self._rxq = None

    def _capture(self) -> tuple[np.ndarray, int]:
        """The kernel fills one buffer with the current settings, after the blocks it lost (each
        with ``overflow_probability``): (complex128 [n] codes, samples lost before it)."""
        n, clock = self._rx_size, self.air._clock(self)
        lost = 0
        while self.overflow_probability and self._hw_rng.random() < self.overflow_probability:
            lost += n
        self._cap += lost / clock
        y = self.air._render(self, self._cap, n)
        if self._gain_mode != "manual":               # ideal AGC: peak at AGC_PEAK_DBFS
            peak = max(np.abs(y.real).max(), np.abs(y.imag).max(), 1e-12)
            g = 20 * np.log10(ADC_FULL_SCALE * 10 ** (AGC_PEAK_DBFS / 20) / peak)
            self._rx_gain = int(np.clip(np.floor(g), *RX_GAIN_RANGE))
        y *= 10 ** (self._rx_gain / 20)
        y += self.rx_dc
        i = np.clip(np.rint(y.real), -ADC_FULL_SCALE, ADC_FULL_SCALE - 1).astype(np.int16)
        q = np.clip(np.rint(y.imag), -ADC_FULL_SCALE, ADC_FULL_SCALE - 1).astype(np.int16)
        self._cap += n / clock
        self.air.now = max(self.air.now, self._cap)
        return i + 1j * q, lost                        # complex128, as the driver returns

    def rx(self) -> np.ndarray:
        """The oldest captured buffer: complex128 [rx_buffer_size], I and Q in 12-bit codes."""
        if self._rxq is None:                         # buffer creation: size fixed until destroyed
            n = self.rx_buffer_size
            if not isinstance(n, (int, np.integer)) or isinstance(n, bool):
                raise TypeError(f"rx_buffer_size must be an int, got {n!r}")
            if n <= 0:
                raise _einval()
            self._rx_size, self._cap = int(n), self.air.now
            self._rxq = deque(self._capture() for _ in range(self._rxadc.kernel_buffers))
        self._rxq.append(self._capture())
        self.air._prune()
        y, lost = self._rxq.popleft()
        self.dropped_samples += lost
        return y

    def close(self) -> None:
        self.tx_destroy_buffer()
        self.rx_destroy_buffer()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False


def pluto_factory(air: VirtualAir, **kw) -> Callable[..., VirtualPluto]:
    """A stand-in for ``adi.Pluto``: ``factory(uri)`` returns one VirtualPluto per URI on ``air``
    (the same object for the same URI; ``kw`` go to each, the n-th radio's seed is ``seed + n``)
    and raises ``Exception("No device found")`` for URIs starting with ``ip:nothing`` or
    ``usb:nothing``."""
    radios: dict[str, VirtualPluto] = {}

    def factory(uri: str = "") -> VirtualPluto:
        if not isinstance(uri, str):
            raise Exception("Invalid argument. Input must be a string or a context")
        if uri.startswith(("ip:nothing", "usb:nothing")):
            raise Exception("No device found")
        key = uri or "ip:pluto.local"
        if key not in radios:
            radios[key] = VirtualPluto(uri, air=air, **{**kw, "seed": kw.get("seed", 0) + len(radios)})
        return radios[key]

    return factory
