"""What a recording will write, estimated before any work: the disk-space check of
``scripts/record.py`` and of ``--record`` (:func:`~semcom_phy.experiments.cli.check_outputs`).

Each run of a loopback records a TX and an RX stream of ``cf32_le`` samples (8 bytes each). A run
sends one frame of k symbols per image, each after ``modem.gap_samples`` of silence, and each
chunk of images (``LoopbackConfig.chunk``) ends with a last gap and 4 OFDM symbols of silence that
flush the channel (:meth:`semcom_phy.link.Link.run`; interleaving moves symbols between frames,
not their number). The estimate adds 10 % for what it
leaves out: the metadata (an annotation per frame, about 7 % of the samples' bytes), the index
and results files, a radio's extra samples. Torch-free: k comes from the codec's manifest.
"""

from __future__ import annotations

import math
from pathlib import Path

from ..phy.frame import frame_length_samples, kind_code
from ..phy.pdu import FLUSH_SYMBOLS
from ..semantic.paths import read_manifest, resolve_manifest
from . import config as C

SAMPLE_BYTES = 8          # cf32_le: one complex64 sample
STREAMS = 2               # TX and RX
MARGIN = 1.1              # the estimate plus 10 %


def codec_symbols(codec: str) -> int:
    """k, the complex symbols per image of a codec.

    Input: ``codec``, a shipped weights name or a manifest path (:class:`LinkConfig` ``.codec``).
    Output: the manifest's ``config.num_symbols`` (CodecConfig's default 128 when it has none);
    WeightsError when the manifest is missing or not one."""
    return int(read_manifest(resolve_manifest(codec))["config"].get("num_symbols", 128))


def stream_samples(cfg: C.LoopbackConfig) -> int:
    """Input: a loopback config. Output: the samples of one run's TX (or RX) stream, without the
    margin: one frame per image, each after its gap, and per chunk the last gap and the flush."""
    ofdm, modem = cfg.link.ofdm, cfg.link.modem
    frame = frame_length_samples(ofdm, kind_code(modem.mode, modem.modulation), codec_symbols(cfg.link.codec))
    chunks = -(-cfg.num_images // cfg.chunk)
    return cfg.num_images * (frame + modem.gap_samples) + chunks * (modem.gap_samples
                                                                    + FLUSH_SYMBOLS * ofdm.symbol_length_samples)


def recording_bytes(cfg: C.LoopbackConfig, sweeps: int = 1) -> int:
    """The bytes a recorded loopback writes, an estimate with its 10 % margin.

    Input: ``cfg``, a loopback config (its runs: the SNR points, or one over radios); ``sweeps``,
    how many times it runs (``record.py``: channels x attacks).
    Output: ``1.1 * sweeps * runs * 2 streams * stream_samples * 8`` bytes, rounded up."""
    return math.ceil(MARGIN * sweeps * len(cfg.runs) * STREAMS * stream_samples(cfg) * SAMPLE_BYTES)


def record_bytes(cfg: C.RecordConfig) -> int:
    """Input: a recording sweep. Output: the bytes it adds to ``cfg.out`` (an estimate): every
    loopback's recordings, less those ``existing="overwrite"`` deletes first."""
    new = recording_bytes(cfg.loopback, len(cfg.channels) * len(cfg.attacks))
    out = Path(cfg.out)
    if cfg.existing == "overwrite" and out.is_dir():
        new -= sum(p.stat().st_size for p in out.glob("*.sigmf-data"))
    return max(new, 0)
