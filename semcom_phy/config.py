"""Frozen, validated configuration dataclasses, one per stage of the signal path.

Conventions (docs/conventions.md §1): units live in field names, derived values are properties, and
``__post_init__`` raises ``ValueError`` naming the field, the value and the allowed range.
Scripts build one config, pass it down and save it next to their results
(:func:`to_dict` / :func:`from_dict` round-trip through plain YAML-able data).
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from .validation import check_field

MODULATIONS = {"bpsk": 1, "qpsk": 2, "16qam": 4, "64qam": 6}
PAYLOAD_MODES = ("analog", "digital")
EQUALIZERS = ("zf", "mmse")
CHANNEL_ESTIMATORS = ("smoothed", "ls")
MULTIPATH_PROFILES = ("none", "tdl-short", "tdl-medium", "tdl-long")
FADING_KINDS = ("none", "rayleigh", "rician")


@dataclass(frozen=True)
class OfdmConfig:
    """OFDM resource grid. Defaults suit a PlutoSDR at 2 MSPS (31.25 kHz carriers, 10 us CP).

    Carriers are numbered relative to DC, ``-fft_size/2 .. fft_size/2 - 1``. The used band is
    everything except ``num_guard_carriers = (lower, upper)`` edge carriers and, with
    ``dc_null``, carrier 0. Pilots sit on ``pilot_carriers`` in every payload symbol; the rest
    of the used band carries data.
    """

    fft_size: int = 64
    cp_length_samples: int = 16
    num_guard_carriers: tuple[int, int] = (6, 5)
    dc_null: bool = True
    pilot_carriers: tuple[int, ...] = (-21, -7, 7, 21)
    sample_rate_hz: float = 2e6

    def __post_init__(self):
        check_field(self, "fft_size", 16, 4096, integer=True)
        if self.fft_size & (self.fft_size - 1):
            raise ValueError(f"OfdmConfig.fft_size = {self.fft_size}: must be a power of two in [16, 4096]")
        check_field(self, "cp_length_samples", 1, self.fft_size // 2, integer=True)
        object.__setattr__(self, "num_guard_carriers", tuple(self.num_guard_carriers))
        object.__setattr__(self, "pilot_carriers", tuple(int(p) for p in self.pilot_carriers))
        if len(self.num_guard_carriers) != 2 or any(
                not isinstance(g, (int, np.integer)) or g < 0 or g > self.fft_size // 4
                for g in self.num_guard_carriers):
            raise ValueError(f"OfdmConfig.num_guard_carriers = {self.num_guard_carriers!r}: must be "
                             f"(lower, upper) integers in [0, {self.fft_size // 4}]")
        check_field(self, "sample_rate_hz", 1e3, 1e9)
        used = set(self.used_carriers.tolist())
        bad = [p for p in self.pilot_carriers if p not in used]
        if bad or len(set(self.pilot_carriers)) != len(self.pilot_carriers):
            raise ValueError(f"OfdmConfig.pilot_carriers = {self.pilot_carriers!r}: pilots must be distinct "
                             f"used carriers in [{self.used_carriers[0]}, {self.used_carriers[-1]}], not DC")
        if len(self.pilot_carriers) < 2:
            raise ValueError(f"OfdmConfig.pilot_carriers = {self.pilot_carriers!r}: at least 2 pilots are "
                             "needed for phase tracking")
        if self.num_data_carriers < 8:
            raise ValueError(f"OfdmConfig: only {self.num_data_carriers} data carriers are left; allowed >= 8 "
                             "(reduce num_guard_carriers or pilot_carriers)")

    @cached_property
    def used_carriers(self) -> np.ndarray:
        """int64 [num_used]: carrier indices (relative to DC) that carry energy, ascending."""
        lo, hi = self.num_guard_carriers
        k = np.arange(-self.fft_size // 2 + lo, self.fft_size // 2 - hi)
        return k[k != 0] if self.dc_null else k

    @cached_property
    def data_carriers(self) -> np.ndarray:
        """int64 [num_data]: used carriers that are not pilots, ascending."""
        return np.setdiff1d(self.used_carriers, self.pilot_carriers)

    @property
    def num_used_carriers(self) -> int:
        return int(self.used_carriers.size)

    @property
    def num_data_carriers(self) -> int:
        return int(self.data_carriers.size)

    @property
    def symbol_length_samples(self) -> int:
        return self.fft_size + self.cp_length_samples

    @property
    def subcarrier_spacing_hz(self) -> float:
        return self.sample_rate_hz / self.fft_size

    def fft_bins(self, carriers) -> np.ndarray:
        """FFT bin index (0..fft_size-1) of carriers numbered relative to DC."""
        return np.mod(np.asarray(carriers), self.fft_size)


@dataclass(frozen=True)
class ModemConfig:
    """Framing and receiver choices on top of the resource grid.

    ``mode='analog'`` puts complex semantic symbols straight on data carriers; ``'digital'``
    maps bits to Gray ``modulation``. ``tx_power`` is the mean power of the transmitted samples
    inside a frame (gaps are zeros). ``detection_threshold`` applies to the Schmidl & Cox
    metric M(d) in [0, 1] (about (SNR / (1 + SNR))^2 for a frame, 0.01 for noise, a tone or a DC
    line): the default 0.05 finds frames down to about -3 dB SNR; noise alone then makes about 13
    candidates a second at 2 MSPS, which the LTF checks turn away before any header decode (and a
    header must pass its CRC-16 and a re-encoding check); 0.1 never triggers on noise but loses
    frames below about 0 dB. ``max_cfo_subcarriers`` bounds
    the integer-CFO search. ``max_inferred_frames``: up to this many frames missing between two
    decoded frames of a regular train (consecutive sequence numbers, one kind and length, every
    frame + ``gap_samples`` apart, as :func:`~semcom_phy.phy.transmit` sends them) are decoded
    where the train puts them, although their preamble or header was lost in a fade (0: off).
    """

    mode: str = "analog"
    modulation: str = "qpsk"
    equalizer: str = "zf"
    channel_estimator: str = "smoothed"
    gap_samples: int = 0
    tx_power: float = 1.0
    detection_threshold: float = 0.05
    max_cfo_subcarriers: float = 5.0
    max_inferred_frames: int = 64

    def __post_init__(self):
        check_field(self, "mode", choices=PAYLOAD_MODES)
        check_field(self, "modulation", choices=tuple(MODULATIONS))
        check_field(self, "equalizer", choices=EQUALIZERS)
        check_field(self, "channel_estimator", choices=CHANNEL_ESTIMATORS)
        check_field(self, "gap_samples", 0, 10_000_000, integer=True)
        check_field(self, "tx_power", 0.0, 1e6, lo_open=True)
        check_field(self, "detection_threshold", 0.03, 0.95)
        check_field(self, "max_cfo_subcarriers", 0.0, 8.0)
        check_field(self, "max_inferred_frames", 0, 1024, integer=True)

    @property
    def bits_per_symbol(self) -> int:
        return MODULATIONS[self.modulation]


@dataclass(frozen=True)
class ChannelConfig:
    """A simulated channel chain, applied in the physical order of a real link:

    multipath (tapped delay line, ``multipath``) with ``fading`` (Rayleigh/Rician, block or
    Doppler) -> timing offset (fractional samples) and sample-rate offset -> AWGN at ``snr_db``
    -> carrier frequency offset (Hz and/or ppm of ``carrier_frequency_hz``) -> phase noise
    (Wiener, ``phase_noise_linewidth_hz``) -> IQ imbalance -> DC offset.

    ``snr_db`` is Es/N0 per data resource element (docs/conventions.md §2); ``None`` means no noise.
    Every field at its default leaves the signal untouched.
    """

    snr_db: float | None = None
    multipath: str = "none"
    fading: str = "none"
    rician_k_db: float = 6.0
    doppler_hz: float = 0.0
    timing_offset_samples: float = 0.0
    sfo_ppm: float = 0.0
    cfo_hz: float = 0.0
    cfo_ppm: float = 0.0
    carrier_frequency_hz: float = 2.4e9
    phase_noise_linewidth_hz: float = 0.0
    iq_gain_imbalance_db: float = 0.0
    iq_phase_imbalance_deg: float = 0.0
    dc_offset: float = 0.0
    dc_offset_phase_deg: float = 0.0

    def __post_init__(self):
        check_field(self, "snr_db", -30.0, 100.0, optional=True)
        check_field(self, "multipath", choices=MULTIPATH_PROFILES)
        check_field(self, "fading", choices=FADING_KINDS)
        check_field(self, "rician_k_db", -30.0, 40.0)
        check_field(self, "doppler_hz", 0.0, 1e5)
        check_field(self, "timing_offset_samples", 0.0, 1e6)
        check_field(self, "sfo_ppm", -1000.0, 1000.0)
        check_field(self, "cfo_hz", -1e7, 1e7)
        check_field(self, "cfo_ppm", -1000.0, 1000.0)
        check_field(self, "carrier_frequency_hz", 7e7, 6e9)
        check_field(self, "phase_noise_linewidth_hz", 0.0, 1e5)
        check_field(self, "iq_gain_imbalance_db", -6.0, 6.0)
        check_field(self, "iq_phase_imbalance_deg", -30.0, 30.0)
        check_field(self, "dc_offset", 0.0, 10.0)
        check_field(self, "dc_offset_phase_deg", -360.0, 360.0)

    @property
    def total_cfo_hz(self) -> float:
        return self.cfo_hz + self.cfo_ppm * 1e-6 * self.carrier_frequency_hz


def to_dict(cfg) -> dict:
    """A config tree -> plain nested dicts and lists for YAML or JSON. A secret field
    (``field(metadata={"secret": ...})``: the scrambling key) is never written: its public
    ``<name>_fingerprint`` (a property of its config) takes its place."""
    def plain(v):
        if dataclasses.is_dataclass(v):
            return {(f"{f.name}_fingerprint" if f.metadata.get("secret") else f.name):
                    plain(getattr(v, f"{f.name}_fingerprint" if f.metadata.get("secret") else f.name))
                    for f in dataclasses.fields(v)}
        if isinstance(v, (tuple, list)):
            return [plain(x) for x in v]
        return v
    return plain(cfg)


def from_dict(cls, data: dict, *, where: str = "", base=None):
    """Plain data (``to_dict``'s, or a user's YAML with any subset of the fields) -> ``cls``.

    Fields not given keep ``base``'s values (default ``cls()``), so nested configs keep their
    parent's defaults; lists become tuples; unknown keys raise ``ValueError`` naming them, where
    they are and the allowed ones; the configs' own checks run as they are built. A secret field
    stored as ``<name>_fingerprint`` must be given again (and match) when the field its metadata
    names is set (the key, when the defense scrambles)."""
    where = where or cls.__name__
    if isinstance(data, cls):
        return data
    if not isinstance(data, dict):
        raise ValueError(f"{where}: expected a mapping of {cls.__name__} fields, got {type(data).__name__} {data!r}")
    base = base if base is not None else cls()
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    secret = {f.name: f.metadata["secret"] for f in dataclasses.fields(cls) if f.metadata.get("secret")}
    data = dict(data)
    stored = {name: data.pop(f"{name}_fingerprint") for name in secret if f"{name}_fingerprint" in data}
    unknown = sorted(set(data) - set(names))
    if unknown:
        raise ValueError(f"{where}: unknown key(s) {unknown}; allowed: {names}")
    kwargs = {name: getattr(base, name) for name in names}
    for name, value in data.items():
        sub = dataclass_of(hints[name])
        if sub is not None and isinstance(value, dict):
            value = from_dict(sub, value, where=f"{where}.{name}",
                              base=kwargs[name] if isinstance(kwargs[name], sub) else None)
        elif isinstance(value, list):
            value = tuple(value)
        kwargs[name] = value
    obj = cls(**kwargs)
    for name, fingerprint in stored.items():
        if getattr(obj, secret[name]) and getattr(obj, f"{name}_fingerprint") != fingerprint:
            raise ValueError(
                f"{where}.{name}: not stored with the config, only its fingerprint {fingerprint}: give it (--{name})"
                if name not in data else f"{where}.{name} does not match the {name}_fingerprint {fingerprint} of the config")
    return obj


def dataclass_of(hint) -> type | None:
    """The dataclass a field's type hint names (also inside ``X | None``), or None."""
    if dataclasses.is_dataclass(hint):
        return hint
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        return next((a for a in typing.get_args(hint) if dataclasses.is_dataclass(a)), None)
    return None


@dataclass(frozen=True)
class PhyConfig:
    """The physical layer: resource grid + modem + simulated channel."""

    ofdm: OfdmConfig = field(default_factory=OfdmConfig)
    modem: ModemConfig = field(default_factory=ModemConfig)
    channel: ChannelConfig = field(default_factory=ChannelConfig)

