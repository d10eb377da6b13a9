"""IQ over the air through ADALM-PlutoSDR radios, with pyadi-iio (docs/conventions.md section 7).

The transport keeps the link's protocol (send, receive, drain, close) and maps it onto what a
Pluto does well: ``send`` collects the frames of a burst; ``drain`` puts the whole burst on the air
as a **cyclic** TX buffer, flushes the RX buffers (stale samples), captures at least two burst
lengths (so the capture holds every frame whole at least once; the link keeps the first copy of
each sequence number) and stops the transmitter. ``receive`` returns nothing before that.

TX scaling: the burst is scaled so that its largest I or Q value sits ``tx_peak_dbfs`` below the
DAC's full scale (``2**15`` in int16 terms, the top 12 bits drive the DAC), so nothing clips
whatever the OFDM PAPR; :attr:`PlutoTransport.last_burst` reports the PAPR, RMS level and clip
rate. One radio with a TX->RX cable (``uri``) or two radios (``tx_uri``, ``rx_uri``).

The code that talks to the radio is the code that runs on hardware: ``radio_factory`` defaults to
``adi.Pluto``; the tests pass the virtual Pluto's factory instead.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np

from ..config import OfdmConfig
from ..validation import check_bool, check_field
from .base import Transport, as_iq

DAC_FULL_SCALE = 2 ** 15             # int16 value of DAC full scale (12-bit DAC, MSB-aligned)
ADC_FULL_SCALE = 2048                # 12-bit ADC codes returned by rx()
USB2_RELIABLE_SPS = 4e6              # what USB 2.0 streams without drops (docs/conventions.md section 7)
RANGES = {                           # (LO Hz, RF bandwidth Hz)
    "ad9363": ((325e6, 3.8e9), (200e3, 20e6)),
    "ad9364": ((70e6, 6e9), (200e3, 56e6)),
}


class PlutoError(RuntimeError):
    """No radio at a URI, or a radio that refuses a setting."""


@dataclass(frozen=True)
class PlutoConfig:
    """Radio settings. ``uri``: the radio for both directions (a TX->RX cable with an attenuator);
    ``tx_uri`` / ``rx_uri``: two radios (each defaults to ``uri``). ``ad9364``: allow the AD9364
    ranges (LO 70 MHz - 6 GHz, 56 MHz bandwidth) that a re-flashed Pluto may reach; off by default
    (AD9363: 325 MHz - 3.8 GHz, 20 MHz). ``rx_gain_db`` is a manual gain (no AGC: the link wants
    a fixed gain across a burst); ``tx_attenuation_db`` is 0 (full power) .. 89.75 dB;
    ``kernel_buffers``: RX buffers the kernel queues (libiio's 4 by default; more ride out longer
    pauses of the host at high sample rates)."""

    uri: str = "ip:192.168.2.1"
    tx_uri: str = ""
    rx_uri: str = ""
    lo_hz: float = 2.4e9
    sample_rate_hz: float = 2e6
    rf_bandwidth_hz: float = 2e6
    rx_gain_db: float = 30.0
    tx_attenuation_db: float = 10.0
    tx_peak_dbfs: float = -6.0
    rx_buffer_size: int = 1 << 16
    kernel_buffers: int = 4
    ad9364: bool = False

    def __post_init__(self):
        check_bool(self.ad9364, "ad9364", owner=self)
        (lo_min, lo_max), (bw_min, bw_max) = RANGES["ad9364" if self.ad9364 else "ad9363"]
        chip = "AD9364" if self.ad9364 else "AD9363 (set ad9364=True only for a Pluto re-flashed to AD9364 mode)"
        if not isinstance(self.uri, str) or not (self.uri or self.tx_uri and self.rx_uri):
            raise ValueError(f"PlutoConfig.uri = {self.uri!r}: give a URI such as 'ip:192.168.2.1' or 'usb:1.5.5' "
                             "(or both tx_uri and rx_uri)")
        check_field(self, "lo_hz", lo_min, lo_max, unit=f"Hz for the {chip}", fmt="g")
        check_field(self, "sample_rate_hz", 521e3, 61.44e6, unit="Hz", fmt="g")
        check_field(self, "rf_bandwidth_hz", bw_min, bw_max, unit=f"Hz for the {chip}", fmt="g")
        check_field(self, "rx_gain_db", -3.0, 71.0)
        check_field(self, "tx_attenuation_db", 0.0, 89.75)
        check_field(self, "tx_peak_dbfs", -40.0, 0.0)
        check_field(self, "rx_buffer_size", 1024, 1 << 24, integer=True)
        check_field(self, "kernel_buffers", 1, 64, integer=True)
        if self.sample_rate_hz > USB2_RELIABLE_SPS:
            warnings.warn(f"PlutoConfig.sample_rate_hz = {self.sample_rate_hz:g}: USB 2.0 streams about "
                          f"{USB2_RELIABLE_SPS / 1e6:g} MSPS without drops; expect lost samples above it "
                          "(Ethernet or a lower rate helps)", stacklevel=2)

    @property
    def tx(self) -> str:
        return self.tx_uri or self.uri

    @property
    def rx(self) -> str:
        return self.rx_uri or self.uri


def _check_grid(cfg: PlutoConfig, ofdm: OfdmConfig) -> None:
    """The radios must sample at the OFDM grid's rate."""
    if abs(cfg.sample_rate_hz - ofdm.sample_rate_hz) > 1e-6 * ofdm.sample_rate_hz:
        raise ValueError(f"PlutoConfig.sample_rate_hz = {cfg.sample_rate_hz:g} differs from the OFDM grid's "
                         f"{ofdm.sample_rate_hz:g}: set them equal")


def _open(factory, uri: str):
    try:
        return factory(uri)
    except Exception as err:                                  # pyadi-iio raises a bare Exception
        raise PlutoError(
            f"no PlutoSDR answers at {uri!r} ({err}). Check that the radio is plugged in and powered "
            "(its LED blinks), that `iio_info -s` lists it, that the URI is right (ip:192.168.2.1 for "
            "USB networking, usb:BUS.DEV.N for libiio over USB, ip:pluto.local), and that nothing else "
            "holds it (another script or a GNU Radio flowgraph)") from err


class PlutoTransport(Transport):
    """Bursts through one or two Plutos (see the module doc).

    cfg : the radio settings; ofdm : the link's grid (its sample rate must be the radio's)
    radio_factory : ``adi.Pluto`` (default) or a stand-in with its interface
    """

    def __init__(self, cfg: PlutoConfig, ofdm: OfdmConfig, radio_factory=None):
        _check_grid(cfg, ofdm)
        if radio_factory is None:
            try:
                import adi
            except ImportError as err:
                raise PlutoError("pyadi-iio is not installed: pip install pyadi-iio 'pylibiio==0.25' "
                                 "(make setup does)") from err
            radio_factory = adi.Pluto
        self.cfg = cfg
        self.tx_radio = _open(radio_factory, cfg.tx)
        self.rx_radio = self.tx_radio if cfg.rx == cfg.tx else _open(radio_factory, cfg.rx)
        self._pending: list[np.ndarray] = []
        self._closed = False
        self.samples_sent = self.samples_received = 0
        self.last_burst: dict = {}
        self._configure()

    def _configure(self) -> None:
        cfg, tx, rx = self.cfg, self.tx_radio, self.rx_radio
        try:
            for radio in dict.fromkeys((tx, rx)):
                radio.sample_rate = int(cfg.sample_rate_hz)
            tx.tx_lo = int(cfg.lo_hz)
            tx.tx_rf_bandwidth = int(cfg.rf_bandwidth_hz)
            tx.tx_hardwaregain_chan0 = -float(cfg.tx_attenuation_db)
            rx.rx_lo = int(cfg.lo_hz)
            rx.rx_rf_bandwidth = int(cfg.rf_bandwidth_hz)
            rx.gain_control_mode_chan0 = "manual"
            rx.rx_hardwaregain_chan0 = float(cfg.rx_gain_db)
            rx.rx_buffer_size = int(cfg.rx_buffer_size)
            rx.rx_destroy_buffer()                          # samples from before the retune are stale
            rx._rxadc.set_kernel_buffers_count(cfg.kernel_buffers)   # pyadi-iio's RX device, no buffer now
        except (OSError, ValueError) as err:
            raise PlutoError(f"the radio refused a setting ({err}); settings: {cfg}") from err

    def calibrate_xo(self, cfo_hz: float) -> tuple[int, int]:
        """Remove a measured carrier offset (received minus expected, Hz) by correcting the RX
        radio's reference: its ``xo_correction`` (the reference frequency the AD9361 driver assumes,
        nominally 40 MHz) becomes ``old (1 - cfo / LO)``, then the LO is retuned and the stale RX
        buffers flushed. With one radio (a cable) TX and RX share the oscillator and the CFO is
        about 0. Returns (old, new) in Hz."""
        self._check_open()
        rx = self.rx_radio
        attr = rx._ctrl.attrs["xo_correction"]
        old = int(attr.value)
        new = int(round(old * (1 - cfo_hz / self.cfg.lo_hz)))
        try:
            attr.value = str(new)
            rx.rx_lo = int(self.cfg.lo_hz)
            rx.rx_destroy_buffer()
        except OSError as err:
            raise PlutoError(f"the radio at {self.cfg.rx!r} refused xo_correction = {new} ({err})") from err
        return old, new

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError("PlutoTransport is closed")

    def send(self, iq: np.ndarray) -> None:
        self._check_open()
        iq = as_iq(iq)
        self._pending.append(iq)
        self.samples_sent += iq.size

    def receive(self, timeout_s: float = 0.0) -> np.ndarray:
        """Nothing goes on the air before :meth:`drain`: an empty array."""
        self._check_open()
        return np.zeros(0, np.complex64)

    def scale(self, burst: np.ndarray) -> tuple[np.ndarray, dict]:
        """complex burst -> (complex128 with int16-range I/Q values, report). The largest |I| or |Q|
        goes to ``tx_peak_dbfs`` below DAC full scale; the report has the PAPR, the RMS level in dBFS
        and the share of I/Q values beyond int16 (0 by construction, checked)."""
        peak = float(max(np.abs(burst.real).max(initial=0.0), np.abs(burst.imag).max(initial=0.0)))
        gain = DAC_FULL_SCALE * 10 ** (self.cfg.tx_peak_dbfs / 20) / peak if peak > 0 else 0.0
        out = burst.astype(np.complex128) * gain
        power = float(np.mean(np.abs(burst) ** 2)) if burst.size else 0.0
        over = int(np.count_nonzero(np.abs(out.real) > 32767) + np.count_nonzero(np.abs(out.imag) > 32767))
        report = {"samples": int(burst.size), "clip_rate": over / max(1, 2 * burst.size),
                  "papr_db": 10 * math.log10(float(np.max(np.abs(burst))) ** 2 / power) if power > 0 else None,
                  "rms_dbfs": 10 * math.log10(power * gain ** 2 / DAC_FULL_SCALE ** 2) if power > 0 else None}
        return out, report

    def drain(self, timeout_s: float = 5.0) -> np.ndarray:
        """Transmit the burst collected since the last drain as a cyclic buffer, capture at least two
        burst lengths (plus one buffer, dropped, while the transmitter starts), stop transmitting;
        returns the capture normalised to ADC full scale."""
        self._check_open()
        if not self._pending:
            return np.zeros(0, np.complex64)
        burst = np.concatenate(self._pending)
        self._pending = []
        tx_iq, self.last_burst = self.scale(burst)
        tx, rx = self.tx_radio, self.rx_radio
        try:
            tx.tx_destroy_buffer()
            tx.tx_cyclic_buffer = True
            tx.tx(tx_iq)
            rx.rx_destroy_buffer()
            rx.rx()                                         # the transmitter settles
            n = 2 * burst.size + self.cfg.rx_buffer_size
            parts = [np.asarray(rx.rx()) for _ in range(math.ceil(n / self.cfg.rx_buffer_size))]
        except Exception as err:                            # libiio: OSError (busy, gone); pyadi: Exception
            raise PlutoError(f"the radio failed during a burst of {burst.size} samples ({err!r}) at "
                             f"{self.cfg.tx!r}/{self.cfg.rx!r}: another program (a GNU Radio flowgraph, "
                             "iio_readdev) may hold it, or the cable or network went away") from err
        finally:
            try:
                tx.tx_destroy_buffer()
            except Exception:                               # noqa: BLE001 - already failing or gone
                pass
        out = (np.concatenate(parts) / ADC_FULL_SCALE).astype(np.complex64)
        adc = np.concatenate([np.abs(out.real), np.abs(out.imag)])
        self.last_burst["rx_clip_rate"] = float(np.mean(adc >= 2047 / ADC_FULL_SCALE))
        self.samples_received += out.size
        return out

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        for radio in dict.fromkeys((self.tx_radio, self.rx_radio)):
            for release in ("tx_destroy_buffer", "rx_destroy_buffer"):
                try:
                    getattr(radio, release)()
                except Exception:                           # noqa: BLE001 - a radio gone away
                    pass


VIRTUAL_PPM = 10.0          # two virtual boards: oscillators +-10 ppm, 20 ppm apart (real boards: 5-25)
VIRTUAL_RX_DC_DBFS = -40.0  # the virtual boards' DC offset at the ADC (LO leakage after DC tracking)
VIRTUAL_TX_LO_LEAKAGE_DBFS = -55.0   # their TX LO leakage (DAC full scale): -36 dBc for bursts at -19 dBFS RMS


def virtual_radios(cfg: PlutoConfig, seed: int = 0, ppm: float = VIRTUAL_PPM, air=None, **radio_kw):
    """A stand-in for ``adi.Pluto``: virtual Plutos (:mod:`semcom_phy.transport.virtual_pluto`) on
    one air, for URIs starting with ``virtual``. One URI is one radio with a TX->RX cable (one
    oscillator: no CFO, no sample-clock offset); two URIs are two boards whose oscillators differ
    by ``2 ppm`` (TX +ppm, RX -ppm; the default 20 ppm apart: 48 kHz at 2.4 GHz, and the receiver
    samples 20 ppm slower than the transmitter). The air (``air``, a ``VirtualAir``; by default 30 dB
    path loss and a receiver noise floor of -80 dBFS at 0 dB gain) gives about 20 dB SNR with the
    default settings (19.7 dB measured). ``radio_kw`` go to each ``VirtualPluto`` (``rx_dc_dbfs``,
    default ``VIRTUAL_RX_DC_DBFS``; ``tx_lo_leakage_dbfs``; ``overflow_probability``)."""
    from .virtual_pluto import VirtualAir, VirtualPluto

    air = air if air is not None else VirtualAir(path_loss_db=30.0, noise_floor_dbfs=-80.0, seed=seed)
    radio_kw = {"rx_dc_dbfs": VIRTUAL_RX_DC_DBFS, "tx_lo_leakage_dbfs": VIRTUAL_TX_LO_LEAKAGE_DBFS, **radio_kw}
    radios: dict = {}

    def factory(uri: str):
        if not uri.startswith("virtual"):
            raise Exception("No device found")              # as adi.Pluto does
        if uri not in radios:
            xo = 0.0 if cfg.tx == cfg.rx else (ppm if uri == cfg.tx else -ppm)
            radios[uri] = VirtualPluto(uri, air=air, xo_ppm=xo, ad9364=cfg.ad9364, seed=seed + len(radios),
                                       **radio_kw)
        return radios[uri]

    return factory


def open_pluto(cfg: PlutoConfig, ofdm: OfdmConfig, seed: int = 0) -> PlutoTransport:
    """The transport for ``cfg``: real radios through ``adi.Pluto``, or virtual ones when the URIs
    start with ``virtual`` (:func:`virtual_radios`)."""
    return PlutoTransport(cfg, ofdm, virtual_radios(cfg, seed) if cfg.tx.startswith("virtual") else None)


def pluto_flowgraph(cfg: PlutoConfig, ofdm: OfdmConfig, python: str | None = None):
    """The radios through GNU Radio's gr-iio instead of pyadi-iio: ``semcom_phy/flowgraphs/pluto_txrx.py``
    behind a streaming :class:`~semcom_phy.transport.zmq.ZmqTransport` (TX at ``tx_peak_dbfs`` plus
    a 10 dB PAPR allowance of the radio sink's +-1.0 full scale; ``drain`` collects the burst's air
    time plus half a second). A flowgraph that finds no radio exits before it is ready: the error
    names the URI."""
    from .zmq import GR_PYTHON, Flowgraph, FlowgraphError, ZmqTransport, private_endpoints

    _check_grid(cfg, ofdm)
    folder, push, pull = private_endpoints()
    params = {"rx_address": push, "tx_address": pull, "uri": cfg.uri, "tx_uri": cfg.tx_uri, "rx_uri": cfg.rx_uri,
              "lo_hz": cfg.lo_hz, "samp_rate": cfg.sample_rate_hz, "bandwidth_hz": cfg.rf_bandwidth_hz,
              "rx_gain_db": cfg.rx_gain_db, "tx_attenuation_db": cfg.tx_attenuation_db,
              "buffer_size": cfg.rx_buffer_size}
    try:
        return ZmqTransport(push, pull, Flowgraph("pluto_txrx", params, python=python or GR_PYTHON),
                            tx_scale=10 ** ((cfg.tx_peak_dbfs - 10.0) / 20), stream_rate_hz=cfg.sample_rate_hz,
                            private_dir=folder)
    except FlowgraphError as err:
        if "Unable to create context" in str(err) or "No device" in str(err):
            where = repr(cfg.tx) if cfg.tx == cfg.rx else f"{cfg.tx!r} (TX), {cfg.rx!r} (RX)"
            raise PlutoError(f"no PlutoSDR answers at {where} through gr-iio: check the radio, "
                             f"`iio_info -s` and the URI ({str(err).splitlines()[0]})") from err
        raise
