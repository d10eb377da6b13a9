"""The semantic PHY frame by frame: what one PDU in becomes on the air, and what one received
frame becomes as a PDU out. Used by the GNU Radio blocks (:mod:`semcom_phy.gr`) and by the
project's side of a flowgraph link alike (numpy only: it imports under GNU Radio's Python).

A PDU is GNU Radio's ``(metadata dict, uniform vector)`` pair.

* **In** (to Semantic OFDM TX): metadata ``seq`` (int, 0..65535: the frame's sequence number),
  optionally ``last`` (bool: the last frame of a run, followed by the flush); the vector: the
  frame's payload, complex64 [k] semantic symbols (analog mode).
* **Out** (from Semantic OFDM RX): the vector is the equalised payload, complex64 [k]; metadata
  ``seq``, ``kind`` (``analog`` or a modulation name), ``start`` (the frame's first sample in the
  receiver's stream), ``snr_db``, ``cfo_hz``, ``cfo_subcarriers``, ``sfo_ppm``, ``noise_var``,
  ``inferred`` (placed from its neighbours), ``no_eff`` (float32 [k], each symbol's effective noise
  variance), ``channel`` (complex64 [used carriers], the channel estimate), and the receiver's
  counters so far (``RX_COUNTERS``). At the end of a run (the TX's ``tx_eob`` reached the receiver
  and it flushed) one PDU with ``eob`` true, the counters and an empty vector.
"""

from __future__ import annotations

import dataclasses
import json

import numpy as np

from ..config import ModemConfig, OfdmConfig
from .receiver import ReceivedFrame, ReceiverStats
from .transmitter import transmit

FLUSH_SYMBOLS = 4
"""OFDM symbols of silence after a run's last frame: they flush the channel's delay line."""

RX_COUNTERS = ("samples", "candidates", "false_triggers", "header_failures", "frames", "inferred", "truncated",
               "damaged", "nonfinite_samples")
"""The receiver's counters (:class:`~semcom_phy.phy.ReceiverStats`) each PDU out carries."""

FRAME_FIELDS = ("seq", "kind", "start", "snr_db", "cfo_hz", "cfo_subcarriers", "sfo_ppm", "noise_var", "inferred")


def phy_text(ofdm: OfdmConfig = OfdmConfig(), modem: ModemConfig | None = None) -> str:
    """The blocks' ``phy`` parameter: the grid and modem as one line of JSON."""
    from ..config import to_dict

    modem = modem if modem is not None else ModemConfig(mode="analog", gap_samples=256)
    return json.dumps({"ofdm": to_dict(ofdm), "modem": to_dict(modem)}, separators=(",", ":"))


def parse_phy(text: str) -> tuple[OfdmConfig, ModemConfig]:
    """``phy`` (JSON: ``{"ofdm": {...}, "modem": {...}}``, any subset; empty: the link's
    defaults, analog with 256-sample gaps) -> (OfdmConfig, ModemConfig); ValueError naming the
    field otherwise."""
    from ..config import from_dict

    try:
        data = json.loads(text) if text and text.strip() else {}
    except json.JSONDecodeError as err:
        raise ValueError(f"phy = {text!r}: not JSON ({err})") from None
    if not isinstance(data, dict) or set(data) - {"ofdm", "modem"}:
        raise ValueError(f"phy = {text!r}: a JSON object with 'ofdm' and 'modem' expected")
    return (from_dict(OfdmConfig, data.get("ofdm", {}), where="phy.ofdm"),
            from_dict(ModemConfig, data.get("modem", {}), where="phy.modem",
                      base=ModemConfig(mode="analog", gap_samples=256)))


def frame_burst(payload: np.ndarray, seq: int, ofdm: OfdmConfig, modem: ModemConfig, last: bool = False) -> np.ndarray:
    """One frame on the air as :meth:`semcom_phy.link.Link.run` sends it: ``modem.gap_samples``
    zeros then the frame (payload complex [k], sequence number ``seq``); ``last`` adds the last
    gap and the flush. Returns complex64 [n]; the frames of a run, concatenated, are the run's
    burst sample for sample."""
    return frame_bursts([payload], seq, ofdm, modem, last)[0]


def frame_bursts(payloads: list, first_seq: int, ofdm: OfdmConfig, modem: ModemConfig,
                 last: bool = False) -> list[np.ndarray]:
    """:func:`frame_burst` of consecutive frames (sequence numbers ``first_seq``.., mod 2^16),
    framed in one batch: a list of complex64 [n_i], the last with the flush when ``last``."""
    burst = transmit([np.asarray(p, np.complex64) for p in payloads], ofdm, modem, first_seq=int(first_seq))
    edges = list(burst.frame_starts - modem.gap_samples) + [burst.iq.size - modem.gap_samples]
    out = [burst.iq[a:b] for a, b in zip(edges[:-1], edges[1:])]
    if last:
        out[-1] = np.concatenate([burst.iq[edges[-2]:],
                                  np.zeros(FLUSH_SYMBOLS * ofdm.symbol_length_samples, np.complex64)])
    return out


def frame_meta(frame: ReceivedFrame, stats: ReceiverStats) -> dict:
    """A received frame's metadata (the PDU out, without its vector)."""
    meta = {k: getattr(frame, k) for k in FRAME_FIELDS}
    meta.update(seq=int(frame.seq), start=int(frame.start), inferred=bool(frame.inferred),
                **{k: float(meta[k]) for k in ("snr_db", "cfo_hz", "cfo_subcarriers", "sfo_ppm", "noise_var")},
                no_eff=np.asarray(frame.no_eff, np.float32), channel=np.asarray(frame.channel, np.complex64))
    return {**meta, **counters(stats)}


def counters(stats: ReceiverStats) -> dict:
    return {k: int(getattr(stats, k)) for k in RX_COUNTERS}


def frame_of(meta: dict, symbols: np.ndarray) -> ReceivedFrame:
    """The :class:`ReceivedFrame` a PDU out describes; ValueError naming a missing field."""
    missing = [k for k in FRAME_FIELDS + ("no_eff", "channel") if k not in meta]
    if missing:
        raise ValueError(f"receiver PDU without {', '.join(missing)} (not from Semantic OFDM RX?)")
    return ReceivedFrame(seq=int(meta["seq"]), kind=str(meta["kind"]), start=int(meta["start"]),
                         symbols=np.asarray(symbols, np.complex64), no_eff=np.asarray(meta["no_eff"], np.float32),
                         snr_db=float(meta["snr_db"]), cfo_hz=float(meta["cfo_hz"]),
                         cfo_subcarriers=float(meta["cfo_subcarriers"]), noise_var=float(meta["noise_var"]),
                         channel=np.asarray(meta["channel"], np.complex64), inferred=bool(meta["inferred"]),
                         sfo_ppm=float(meta["sfo_ppm"]))


def stats_of(meta: dict) -> ReceiverStats:
    """The receiver's counters a PDU out carries, as :class:`ReceiverStats`."""
    return dataclasses.replace(ReceiverStats(), **{k: int(meta[k]) for k in RX_COUNTERS if k in meta})
