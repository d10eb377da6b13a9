"""The experiment configs: frozen dataclass trees that round-trip YAML.

:class:`LinkConfig` is what the semantic link is (codec, defense, interleaving, OFDM grid,
modem); :class:`TransportConfig` what carries its IQ (the simulated channel, GNU Radio, radios);
:class:`LoopbackConfig` one loopback experiment over them (images, SNR points, attack, seed);
:class:`RecordConfig` a recording sweep of loopbacks. Every field is validated when the config is
made (``ValueError`` naming the field, the value and what is allowed), so a bad option or YAML
file fails before any work.

:func:`dump` / :func:`load` turn a config into plain YAML-able data and back (unknown keys are
refused by name): they are :func:`semcom_phy.config.to_dict` and :func:`~semcom_phy.config.from_dict`.
The scrambling key is never written: its fingerprint (:func:`key_fingerprint`) takes its place,
and loading such data for a scrambling defense needs the key again and checks it.

This module imports neither torch nor GNU Radio: scripts build their options from it at once.
"""

from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..attacks.config import LIVE_ATTACKS, AttackConfig
from ..channel.profiles import PROFILES
from ..config import ModemConfig, OfdmConfig, dataclass_of, from_dict, to_dict
from ..purify.config import DefenseConfig, key_fingerprint  # noqa: F401 (key_fingerprint: re-exported)
from ..transport.pluto import PlutoConfig
from ..transport.sdr import SDR_LINKS, SdrConfig, check_device
from ..validation import check_choice, check_number

LINKS = ("sim", "gnuradio", "pluto", "pluto-gnuradio", "flowgraph") + SDR_LINKS
"""Transports: the simulated channel in this process, GNU Radio's channel blocks over ZeroMQ,
PlutoSDR radios through pyadi-iio, the radios through GNU Radio's gr-iio, a flowgraph that runs
the PHY itself with the project's blocks (frames as PDUs over ZeroMQ), SoapySDR radios through
gr-soapy (``soapy``) and USRPs through gr-uhd (``uhd``)."""
DEVICES = ("auto", "cpu", "cuda")
EXISTING = ("refuse", "append", "overwrite")
MAX_IMAGES = 1_000_000       # one run (the 10,000 test images repeat beyond 10,000)
MAX_CHUNK = 0xFFFF           # images per chunk: the 16-bit sequence numbers of one burst


@dataclass(frozen=True)
class LinkConfig:
    """The semantic link: ``codec`` (a shipped weights name, ``semcom_phy/weights/<name>.json``, or
    a manifest path), the ``defense`` (a :class:`~semcom_phy.purify.DefenseConfig`, or its name),
    ``interleave`` G (each image's symbols spread over G frames, 1..64), the OFDM grid and the
    modem (analog payloads, zero-forcing: the decoder is trained on unbiased symbols)."""

    codec: str = "codec"
    defense: DefenseConfig = field(default_factory=DefenseConfig)
    interleave: int = 8
    ofdm: OfdmConfig = field(default_factory=OfdmConfig)
    modem: ModemConfig = field(default_factory=lambda: ModemConfig(mode="analog", gap_samples=256))

    def __post_init__(self):
        if isinstance(self.defense, str):
            object.__setattr__(self, "defense", DefenseConfig(self.defense))
        if not isinstance(self.codec, str) or not self.codec:
            raise ValueError(f"LinkConfig.codec = {self.codec!r}: a shipped weights name such as 'codec' or a "
                             "manifest path")
        check_number(self.interleave, "interleave", 1, 64, integer=True, owner=self)
        if self.modem.mode != "analog":
            raise ValueError(f"LinkConfig.modem.mode = {self.modem.mode!r}: the semantic link needs 'analog'")
        if self.modem.equalizer != "zf":
            raise ValueError(f"LinkConfig.modem.equalizer = {self.modem.equalizer!r}: the decoder is trained on "
                             "unbiased (ZF) symbols with their no_eff; use 'zf'")


@dataclass(frozen=True)
class TransportConfig:
    """What carries the IQ: ``kind`` (:data:`LINKS`), the simulated or emulated ``channel``
    profile (``awgn``, ``fading``, ``multipath``; over radios the air is the channel) and the
    ``radio`` settings of the Pluto kinds (its sample rate and bandwidth are the OFDM grid's);
    ``flowgraph``: for ``kind="flowgraph"``, the user's flowgraph (``.grc`` or its generated
    ``.py``, meeting :mod:`semcom_phy.transport.pdu`'s contract; None: the shipped
    ``semantic_emulator``, GNU Radio's channel blocks between the project's TX and RX blocks);
    ``sdr``: the radio of ``kind="soapy"`` and ``"uhd"`` (:class:`~semcom_phy.transport.sdr.SdrConfig`:
    its device string, gains; its sample rate and bandwidth are the OFDM grid's too)."""

    kind: str = "sim"
    channel: str = "awgn"
    radio: PlutoConfig = field(default_factory=PlutoConfig)
    flowgraph: str | None = None
    sdr: SdrConfig = field(default_factory=SdrConfig)

    def __post_init__(self):
        check_choice(self.kind, "kind", LINKS, owner=self)
        check_choice(self.channel, "channel", tuple(sorted(PROFILES)), owner=self)
        if self.kind in SDR_LINKS:
            check_device(self.kind, self.sdr)
        if self.flowgraph is not None:
            if not isinstance(self.flowgraph, str) or not self.flowgraph.endswith((".grc", ".py")):
                raise ValueError(f"TransportConfig.flowgraph = {self.flowgraph!r}: a .grc file or its generated .py")
            from ..transport.pdu import flowgraph_parameters
            from ..transport.zmq import FlowgraphError

            try:
                flowgraph_parameters(self.flowgraph)
            except FlowgraphError as err:
                raise ValueError(f"TransportConfig.flowgraph = {self.flowgraph!r}: {err}") from None

    @property
    def air(self) -> bool:
        """Radios: the SNR is what the air gives, one run (a user's flowgraph without the channel
        emulator's ``noise_voltage`` parameter is taken for a radio link)."""
        if self.kind == "flowgraph":
            from ..transport.pdu import is_emulator

            return not is_emulator(self.flowgraph)
        return self.kind.startswith("pluto") or self.kind in SDR_LINKS


@dataclass(frozen=True)
class LoopbackConfig:
    """One loopback experiment: ``num_images`` Fashion-MNIST test images (chosen with ``seed``)
    through the link at each of ``snr_db`` (Es/N0 per data resource element; one run over radios),
    with an optional ``attack`` crafted against the link first; ``record``: a folder to record
    every run's TX and RX IQ in (SigMF); ``data_dir``: the Fashion-MNIST folder (None: the Debian
    package's); ``device``: ``auto``, ``cpu`` or ``cuda``; ``chunk_images``: how many images go
    through the link at a time (memory grows with it, not with ``num_images``; rounded down to a
    whole number of interleaving groups, :attr:`chunk`)."""

    link: LinkConfig = field(default_factory=LinkConfig)
    transport: TransportConfig = field(default_factory=TransportConfig)
    attack: AttackConfig = field(default_factory=AttackConfig)
    snr_db: tuple[float, ...] = (0.0, 5.0, 10.0, 15.0, 20.0)
    num_images: int = 512
    seed: int = 0
    device: str = "auto"
    data_dir: str | None = None
    record: str | None = None
    chunk_images: int = 512

    def __post_init__(self):
        object.__setattr__(self, "snr_db", tuple(self.snr_db))
        if not self.snr_db:
            raise ValueError("LoopbackConfig.snr_db = (): give at least one SNR point")
        for s in self.snr_db:
            check_number(s, "snr_db", -30.0, 100.0, owner=self)
        check_number(self.num_images, "num_images", 1, MAX_IMAGES, integer=True, owner=self)
        check_number(self.chunk_images, "chunk_images", 1, MAX_CHUNK, integer=True, owner=self)
        check_number(self.seed, "seed", 0, 2 ** 63 - 1, integer=True, owner=self)
        check_choice(self.device, "device", DEVICES, owner=self)
        rate = self.link.ofdm.sample_rate_hz
        radio = self.transport.radio
        if self.transport.air and self.transport.kind not in SDR_LINKS and \
                (radio.sample_rate_hz != rate or radio.rf_bandwidth_hz != rate):
            raise ValueError(f"TransportConfig.radio.sample_rate_hz = {radio.sample_rate_hz:g}, rf_bandwidth_hz = "
                             f"{radio.rf_bandwidth_hz:g}: the radios run at the OFDM grid's rate {rate:g} "
                             "(set LinkConfig.ofdm.sample_rate_hz to change it)")

    @property
    def chunk(self) -> int:
        """The images sent at a time: ``chunk_images`` rounded down to whole interleaving groups
        (at least one group)."""
        g = self.link.interleave
        return max(g, self.chunk_images - self.chunk_images % g)

    @property
    def runs(self) -> tuple[float | None, ...]:
        """The SNR of each run: the configured points, or one run at the air's SNR (None)."""
        return (None,) if self.transport.air else self.snr_db


@dataclass(frozen=True)
class RecordConfig:
    """A recording sweep: the loopback once per channel profile of ``channels`` and attack of
    ``attacks`` (at the loopback's budgets), every run recorded into ``out``. ``existing``: what to
    do when ``out`` already holds recordings: ``refuse`` (the default: nothing a user recorded is
    overwritten unasked), ``append`` (new pairs under new names, the index and collection list
    all) or ``overwrite`` (the earlier recordings are deleted first)."""

    loopback: LoopbackConfig = field(default_factory=LoopbackConfig)
    channels: tuple[str, ...] = ("awgn",)
    attacks: tuple[str, ...] = ("none",)
    out: str = "data/recordings"
    existing: str = "refuse"

    def __post_init__(self):
        check_choice(self.existing, "existing", EXISTING, owner=self)
        object.__setattr__(self, "channels", tuple(self.channels))
        object.__setattr__(self, "attacks", tuple(self.attacks))
        for name, values, allowed in (("channels", self.channels, tuple(sorted(PROFILES))),
                                      ("attacks", self.attacks, tuple(LIVE_ATTACKS))):
            if not values:
                raise ValueError(f"RecordConfig.{name} = (): give at least one")
            for v in values:
                check_choice(v, name, allowed, owner=self)
            if len(set(values)) != len(values):
                raise ValueError(f"RecordConfig.{name} = {values!r}: each at most once (a repeat would record "
                                 "over the first)")
        if self.loopback.transport.air and len(self.channels) > 1:
            raise ValueError(f"RecordConfig.channels = {self.channels!r}: over radios the air is the channel, "
                             "there is no channel to sweep")
        if len(set(self.loopback.snr_db)) != len(self.loopback.snr_db):
            raise ValueError(f"LoopbackConfig.snr_db = {self.loopback.snr_db!r}: each SNR at most once in a "
                             "recording (a repeat would record over the first)")


# ---- YAML round trip: one loader for every config (semcom_phy.config) ---------------------------

dump = to_dict
load = from_dict


def with_key(data: dict, key: int | None) -> dict:
    """Loopback config data with the scrambling key given again (a new dict; ``key`` None: the
    data as it is): what loading a stored run's config, with only the key's fingerprint, needs."""
    if key is None:
        return data
    link = data.get("link") or {}
    return {**data, "link": {**link, "defense": {**(link.get("defense") or {}), "key": key}}}


def without_secrets(data):
    """Config data without the stored fingerprints of secrets (``key_fingerprint``): what reading
    a stored run's labels needs, where the key does not matter."""
    if isinstance(data, dict):
        return {k: without_secrets(v) for k, v in data.items() if not k.endswith("_fingerprint")}
    return data


def get_path(cfg, path: str) -> Any:
    """The value at a dotted ``path`` (``"link.defense.nfe"``) of a config tree."""
    for part in path.split("."):
        cfg = getattr(cfg, part)
    return cfg


def leaf_paths(cls, prefix: str = "") -> list[str]:
    """Every dotted path to a non-dataclass field of ``cls``, depth first."""
    hints = typing.get_type_hints(cls)
    out = []
    for f in dataclasses.fields(cls):
        sub = dataclass_of(hints[f.name])
        out += leaf_paths(sub, f"{prefix}{f.name}.") if sub is not None else [prefix + f.name]
    return out


def read_yaml(path: str | Path) -> dict:
    """A config file's data (``--config FILE.yaml``): a mapping, or a clear ``ValueError``. A
    ``config.yaml`` written beside a run's results loads as it is."""
    import yaml

    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text())
    except OSError as err:
        raise ValueError(f"--config {path}: cannot read it ({err.strerror})") from None
    except yaml.YAMLError as err:
        raise ValueError(f"--config {path}: not valid YAML ({str(err).splitlines()[0]})") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ValueError(f"--config {path}: expected a mapping of config fields, got {type(data).__name__}")
    return data
