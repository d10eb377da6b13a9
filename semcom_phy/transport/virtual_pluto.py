"""A virtual ADALM-PlutoSDR: the part of ``adi.Pluto`` (pyadi-iio 0.0.21) a transport uses, with the
driver's checks and error types and a radio's behaviour, so transports are tested without hardware.

Signal chain, per transmitting radio, in 12-bit converter codes (full scale 2048):
``tx(iq)`` casts I and Q with ``astype(np.int16)`` like the driver (no scaling; out-of-range
values wrap like numpy's cast: on x86-64/aarch64 40000.0 -> -25536, beyond int32 undefined) ->
the DAC keeps the top 12 bits (``int16 >> 4``, so int16 +-2**15 is DAC full scale) -> TX gain
(an attenuation, <= 0 dB) -> ``VirtualAir.path_loss_db`` -> a carrier offset
``tx_lo * (1 + ppm_tx*1e-6) - rx_lo * (1 + ppm_rx*1e-6)``, each LO also scaled by 40 MHz over
the radio's ``_ctrl.attrs["xo_correction"]`` (the reference frequency its driver assumes;
received only when the TX carrier lies in the RX passband, ``|tx_lo - rx_lo| <=
rx_rf_bandwidth / 2``, and both radios run the same ``sample_rate``) and a random carrier
phase per LO tuning -> plus receiver noise (``noise_floor_dbfs``, referred to 0 dB RX gain)
-> RX gain -> rounded to 12-bit codes, saturated at [-2048, 2047]. Net gain is
``tx_hardwaregain + rx_gain - path_loss_db``: with the defaults (path loss 30 dB, TX 0 dB, RX 30 dB) a 2**14-scaled unit-power signal (-6 dBFS RMS) arrives at
1024 codes RMS (-6 dBFS) with a noise floor at -31 dBFS: SNR 25 dB, whatever the RX gain until
the ADC clips. In the AGC modes the gain of each captured buffer puts its peak 6 dB below full
scale (an ideal AGC: no attack time). The air is shared: every radio on it hears every
transmitter on it, its own included (a one-radio air is a TX->RX cable). Not modelled:
sample-clock offset, TX noise, filters, DC, IQ imbalance, the RX gain table's dependence on the
band.

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
import os
import re
import weakref
from collections import deque
from collections.abc import Callable

import numpy as np

ADC_FULL_SCALE = 2048                # 12-bit codes: rx() I and Q lie in [-2048, 2047]
DAC_FULL_SCALE = 2048                # 12-bit DAC code = int16 >> 4 (int16 full scale 2**15)
KERNEL_BUFFERS = 4                   # RX buffers the kernel fills ahead of rx() (libiio's default)
XO_NOMINAL_HZ = 40_000_000           # Pluto's reference oscillator
AGC_PEAK_DBFS = -6.0                 # where the AGC modes put the largest I or Q value
GAIN_MODES = ("manual", "slow_attack", "fast_attack", "hybrid")
RX_GAIN_RANGE = (-3.0, 71.0)
TX_GAIN_RANGE = (-89.75, 0.0)
SAMPLE_RATE_MAX = 61.44e6
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
    """One TX buffer on the air: normalised samples from ``start`` (air clock) to ``end``."""

    def __init__(self, radio, data, start, cyclic):
        self.radio, self.data, self.start, self.cyclic = radio, data, start, cyclic
        self.end = None if cyclic else start + data.size


class VirtualAir:
    """The medium between virtual radios: a cable with an attenuator by default.

    path_loss_db : loss from TX port to RX port (dB)
    noise_floor_dbfs : receiver noise power (complex, dB relative to ADC full scale 2048) referred to
        0 dB RX gain; at the ADC it is ``noise_floor_dbfs + rx gain``
    delay_samples : propagation delay (samples, >= 0)
    seed / rng : the noise generator
    """

    def __init__(self, path_loss_db: float = 30.0, noise_floor_dbfs: float = -61.0,
                 delay_samples: int = 0, seed: int = 0, rng: np.random.Generator | None = None):
        if int(delay_samples) != delay_samples or delay_samples < 0:
            raise ValueError(f"delay_samples = {delay_samples!r}: a whole number of samples >= 0")
        self.path_loss_db = float(path_loss_db)
        self.noise_floor_dbfs = float(noise_floor_dbfs)
        self.delay_samples = int(delay_samples)
        self.rng = rng if rng is not None else np.random.default_rng(seed)
        self.now = 0                                  # air clock: where a tx() issued now starts
        self._txs: list[_Tx] = []
        self._radios = weakref.WeakSet()

    def _transmit(self, radio, data: np.ndarray, start: int, cyclic: bool) -> _Tx:
        tx = _Tx(radio, data, max(start, self.now), cyclic)
        self._txs.append(tx)
        return tx

    def _stop(self, radio) -> None:
        """Cut what ``radio`` has not yet played (TX buffer destroyed)."""
        for tx in self._txs:
            if tx.radio is radio and (tx.end is None or tx.end > self.now):
                tx.end = max(tx.start, self.now)
        self._txs = [tx for tx in self._txs if tx.end is None or tx.end > tx.start]

    def _prune(self) -> None:
        horizon = min([self.now] + [r._cap for r in self._radios if r._rxq is not None])
        self._txs = [tx for tx in self._txs if tx.end is None or tx.end + self.delay_samples > horizon]

    def _render(self, rx, t0: int, n: int) -> np.ndarray:
        """What ``rx`` sees at its antenna for air samples [t0, t0+n), in ADC codes at 0 dB RX gain
        (signals plus receiver noise), complex128."""
        y = np.zeros(n, np.complex128)
        t = t0 - self.delay_samples                   # TX time of the first sample
        for tx in self._txs:
            src = tx.radio
            lo, hi = max(t, tx.start), min(t + n, tx.end if tx.end is not None else t + n)
            if hi <= lo or src._fs != rx._fs or abs(src._tx_lo - rx._rx_lo) > rx._rx_bw / 2:
                continue
            k = np.arange(lo, hi, dtype=np.int64)
            idx = (k - tx.start) % tx.data.size if tx.cyclic else k - tx.start
            f = src._tx_lo * src._lo_scale - rx._rx_lo * rx._lo_scale
            cycles = np.mod(k * (f / rx._fs), 1.0)    # phase-continuous on the air clock
            rot = np.exp(1j * (2 * np.pi * cycles + src._tx_phase - rx._rx_phase))
            amp = ADC_FULL_SCALE * 10 ** ((src._tx_gain - self.path_loss_db) / 20)
            y[lo - t:hi - t] += amp * tx.data[idx] * rot
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
    """Stands in for ``adi.Pluto(uri)``. ``air``: the medium (a fresh ``VirtualAir(seed=seed)``,
    i.e. a TX->RX cable on this radio alone, when None); ``xo_ppm``: the reference oscillator's
    error (sets the carrier offset between radios); ``ad9364``: the AD9364 ranges (LO 70 MHz - 6 GHz,
    56 MHz) of a re-flashed Pluto instead of the AD9363's (325 MHz - 3.8 GHz, 20 MHz); ``seed``:
    the carrier phases. Boots with Pluto's defaults (RX 2.4 GHz, TX 2.45 GHz, 30.72 MSPS, 18 MHz,
    slow_attack, TX -10 dB)."""

    def __init__(self, uri: str = "ip:pluto.virtual", air: VirtualAir | None = None,
                 xo_ppm: float = 0.0, ad9364: bool = False, seed: int = 0):
        self.uri = uri
        self.air = air if air is not None else VirtualAir(seed=seed)
        self.xo_ppm = float(xo_ppm)
        self.ad9364 = bool(ad9364)
        self._rng = np.random.default_rng(seed)
        self._fs, self._rx_bw, self._tx_bw = 30_720_000, 18_000_000, 18_000_000
        self._rx_lo, self._tx_lo = 2_400_000_000, 2_450_000_000
        self._rx_phase, self._tx_phase = self._rng.uniform(0, 2 * np.pi, 2)
        self._gain_mode, self._rx_gain, self._tx_gain = "slow_attack", 71, -10.0
        self.rx_buffer_size = 1024
        self._tx_cyclic = False
        self._rx_chans, self._tx_chans = [0], [0]
        self._rxq: deque | None = None                # captured kernel buffers (None: no RX buffer)
        self._cap = 0                                 # air time of the next sample to capture
        self._tx_len: int | None = None               # TX buffer length (None: no TX buffer)
        self._tx_next = 0                             # where the next non-cyclic buffer plays
        self.air._radios.add(self)
        self._rxadc = _RxAdc()
        self._ctrl = _Device({"xo_correction": str(XO_NOMINAL_HZ)})

    @property
    def _lo_scale(self) -> float:
        """Actual / programmed LO: the oscillator runs at ``XO_NOMINAL_HZ (1 + xo_ppm 1e-6)``, the
        driver programs the PLL as if it ran at its ``xo_correction`` attribute."""
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

    def _capture(self) -> np.ndarray:
        """The kernel fills one buffer with the current settings."""
        n = self._rx_size
        y = self.air._render(self, self._cap, n)
        if self._gain_mode != "manual":               # ideal AGC: peak at AGC_PEAK_DBFS
            peak = max(np.abs(y.real).max(), np.abs(y.imag).max(), 1e-12)
            g = 20 * np.log10(ADC_FULL_SCALE * 10 ** (AGC_PEAK_DBFS / 20) / peak)
            self._rx_gain = int(np.clip(np.floor(g), *RX_GAIN_RANGE))
        y *= 10 ** (self._rx_gain / 20)
        i = np.clip(np.rint(y.real), -ADC_FULL_SCALE, ADC_FULL_SCALE - 1).astype(np.int16)
        q = np.clip(np.rint(y.imag), -ADC_FULL_SCALE, ADC_FULL_SCALE - 1).astype(np.int16)
        self._cap += n
        self.air.now = max(self.air.now, self._cap)
        return i + 1j * q                              # complex128, as the driver returns

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
        return self._rxq.popleft()

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
