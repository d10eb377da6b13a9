"""Transports by name: the few lines a notebook or an experiment needs to get one.

    from semcom_phy import transports
    t = transports.sim("multipath", snr_db=10)            # the simulated channel, in this process
    t = transports.gnuradio("awgn", snr_db=10)            # GNU Radio's channel blocks over ZeroMQ
    t = transports.pluto("ip:192.168.2.1")                # a PlutoSDR with a TX->RX cable
    t = transports.pluto(tx_uri="virtual:a", rx_uri="virtual:b")   # two virtual boards
    t = transports.flowgraph()                            # the PHY inside GNU Radio, frames as PDUs
    t = transports.flowgraph("my_radio.grc")              # your flowgraph with the project's blocks
    t = transports.sdr("soapy", "driver=hackrf,serial=a", rx_device="driver=hackrf,serial=b")   # 2 HackRFs
    t = transports.sdr("uhd", "type=b200")                # a USRP through gr-uhd, a TX->RX cable

Every transport is a context manager (``with ... as t``) and is closed when done; GNU Radio's
flowgraph process stops with it.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from .channel.profiles import channel_profile
from .config import ModemConfig, OfdmConfig
from .transport.pluto import PlutoConfig


def sim(channel: str = "awgn", snr_db: float | None = None, seed: int | np.random.Generator = 0,
        ofdm: OfdmConfig = OfdmConfig()):
    """The simulated channel ``channel`` (a profile name: ``awgn``, ``fading``, ``multipath``, or a
    :class:`~semcom_phy.config.ChannelConfig`) at ``snr_db`` (Es/N0 per data resource element; None:
    no noise); ``seed``: an int or a numpy Generator (shared with the caller's other draws)."""
    from .transport.sim import SimTransport

    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    return SimTransport(_channel(channel, snr_db), ofdm, rng)


def gnuradio(channel: str = "awgn", snr_db: float | None = None, seed: int = 0, ofdm: OfdmConfig = OfdmConfig()):
    """GNU Radio's ``channel_model`` modelling ``channel`` at ``snr_db`` (as closely as its blocks
    can), in a flowgraph process under Debian's Python, IQ over ZeroMQ. Raises
    :class:`~semcom_phy.transport.zmq.FlowgraphError` naming what to install when GNU Radio is
    missing."""
    from .transport.zmq import channel_emulator

    require_gnuradio()
    return channel_emulator(_channel(channel, snr_db), ofdm, seed=seed)


def flowgraph(path: str | None = None, channel: str = "awgn", snr_db: float | None = None, seed: int = 0,
              ofdm: OfdmConfig = OfdmConfig(), modem: ModemConfig | None = None):
    """A flowgraph that runs the PHY itself, the project's Semantic OFDM TX and RX blocks (frames
    as PDUs over ZeroMQ, :class:`~semcom_phy.transport.pdu.PduTransport`): ``path`` a user's
    ``.grc`` or ``.py`` meeting :mod:`semcom_phy.transport.pdu`'s contract, or None for the shipped
    ``semantic_emulator`` (GNU Radio's channel blocks modelling ``channel`` at ``snr_db`` between
    the blocks, as :func:`gnuradio` does for IQ). ``ofdm``, ``modem``: the PHY the blocks run
    (the link's). Raises FlowgraphError naming what is missing (GNU Radio, a contract's part)."""
    from .phy.pdu import phy_text
    from .transport.pdu import is_emulator, open_flowgraph
    from .transport.zmq import channel_emulator_params

    require_gnuradio("flowgraph")
    params = channel_emulator_params(_channel(channel, snr_db), ofdm, seed)[0] if is_emulator(path) else {}
    return open_flowgraph(path, params, phy_text(ofdm, modem))


def require_gnuradio(link: str = "gnuradio") -> None:
    """Raise :class:`~semcom_phy.transport.zmq.FlowgraphError` saying what to install unless GNU
    Radio runs under Debian's Python."""
    from .transport.zmq import FlowgraphError, gnuradio_available

    reason = gnuradio_available()
    if reason:
        raise FlowgraphError(f"--link {link}: {reason}")


def pluto(uri: str | PlutoConfig = PlutoConfig.uri, *, ofdm: OfdmConfig = OfdmConfig(), seed: int = 0,
          gnuradio: bool = False, **radio):
    """PlutoSDR radios: ``uri`` (one radio, a TX->RX cable; ``virtual`` for the virtual Pluto) or a
    :class:`~semcom_phy.transport.pluto.PlutoConfig`; other :class:`PlutoConfig` fields as keywords
    (``tx_uri``, ``rx_uri``, ``lo_hz``, ``rx_gain_db``, ``tx_attenuation_db``...). The sample rate
    and bandwidth are the OFDM grid's. ``gnuradio``: through GNU Radio's gr-iio flowgraph instead of
    pyadi-iio. Raises :class:`~semcom_phy.transport.pluto.PlutoError` naming the URI when no radio
    answers."""
    from .transport.pluto import open_pluto, pluto_flowgraph

    cfg = uri if isinstance(uri, PlutoConfig) else PlutoConfig(uri=uri)
    cfg = dataclasses.replace(cfg, sample_rate_hz=ofdm.sample_rate_hz, rf_bandwidth_hz=ofdm.sample_rate_hz, **radio)
    return pluto_flowgraph(cfg, ofdm) if gnuradio else open_pluto(cfg, ofdm, seed)


def sdr(kind: str = "soapy", device="", *, ofdm: OfdmConfig = OfdmConfig(), **radio):
    """A radio GNU Radio drives besides the Pluto: ``kind`` ``soapy`` (a SoapySDR device through
    gr-soapy: HackRF, USRP, LimeSDR, bladeRF...) or ``uhd`` (a USRP through gr-uhd); ``device`` its
    device string (``driver=hackrf``; ``type=b200``) or a
    :class:`~semcom_phy.transport.sdr.SdrConfig`; other SdrConfig fields as keywords
    (``tx_device``, ``rx_device``, ``lo_hz``, ``tx_gain_db``, ``rx_gain_db``...). The sample rate and
    bandwidth are the OFDM grid's. The device is looked for first: a missing driver or radio raises
    :class:`~semcom_phy.transport.zmq.FlowgraphError` at once, naming the device string and what to
    install or check."""
    from .transport.sdr import SdrConfig, sdr_flowgraph

    cfg = device if isinstance(device, SdrConfig) else SdrConfig(device=device)
    return sdr_flowgraph(kind, dataclasses.replace(cfg, **radio), ofdm)


def open_transport(cfg, snr_db: float | None, ofdm: OfdmConfig, seed: int, rng: np.random.Generator | None = None,
                   modem: ModemConfig | None = None):
    """The transport a :class:`~semcom_phy.experiments.TransportConfig` names, at ``snr_db`` (the
    simulated and emulated channels; radios ignore it): ``rng`` the simulated channel's draws
    (default: seeded ``seed``), ``seed`` GNU Radio's and the virtual radios'; ``modem`` the
    link's (for a flowgraph that runs the PHY)."""
    if cfg.kind == "flowgraph":
        return flowgraph(cfg.flowgraph, cfg.channel, snr_db, seed, ofdm, modem)
    if cfg.kind in ("soapy", "uhd"):
        return sdr(cfg.kind, cfg.sdr, ofdm=ofdm)
    if cfg.air:
        return pluto(cfg.radio, ofdm=ofdm, seed=seed, gnuradio=cfg.kind == "pluto-gnuradio")
    if cfg.kind == "gnuradio":
        return gnuradio(cfg.channel, snr_db, seed, ofdm)
    return sim(cfg.channel, snr_db, rng if rng is not None else seed, ofdm)


def _channel(channel, snr_db):
    return channel_profile(channel, snr_db) if isinstance(channel, str) else dataclasses.replace(channel, snr_db=snr_db)
