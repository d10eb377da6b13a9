"""Replay recorded link runs offline: the receiver, purification, decoder and classifier on a
recording's RX IQ, with the metrics a live run prints.

Each ``*-rx.sigmf-meta`` is checked first (size and SHA-512 against its metadata: a truncated or
modified recording is reported, never decoded). A recording of this project carries the run in
its ``semcom:config`` (the portable loopback config, the test-image indices, the SNR) and the
models by name and SHA-256 in ``semcom:weights``, resolved against the installed weights, so a
recording moved to another folder or machine replays to the same rows. The scrambling key is not
in the recording (only its fingerprint): a scrambled run needs ``key``.

A SigMF recording made elsewhere (no ``semcom:config``) is demodulated with the loopback config
given as ``config`` (the link it carries: grid, modem, codec, defense, interleaving, and the seed
and number of test images its frames carry); without one the error says what is missing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import config as C


@dataclass
class ReplayResult:
    """rows : the loopback's result rows, one per recording, plus ``defense`` (its name: the table
    shows the smoothed receiver's abstentions) and ``recording`` (its file name);
    notes : what could not be checked (e.g. a foreign recording without a hash); frames : per
    recording what :func:`~semcom_phy.io.sigmf_io.export_frames` takes (``export=True``);
    errors : one line per recording that was refused (the others still replay)."""

    rows: list[dict]
    notes: list[str] = field(default_factory=list)
    frames: list = field(default_factory=list, repr=False)
    errors: list[str] = field(default_factory=list)

    def document(self) -> dict:
        from ..version import code_version
        return {"recordings": [r["recording"] for r in self.rows], "results": self.rows, "notes": self.notes,
                "errors": self.errors, "code": code_version()}

    def table(self) -> str:
        smoothed = any(r.get("defense") == "smoothed" for r in self.rows)     # its abstentions get a column
        lines = [f"{'channel':>9} {'attack':>14} {'SNR dB':>7} {'frames rx/tx':>13} {'lost':>5} {'accuracy':>9} "
                 + (f"{'abstained':>9} " if smoothed else "") + f"{'PSNR dB':>8} {'SSIM':>6}  recording"]
        for r in self.rows:
            lines.append(f"{r['channel']:>9} {r['attack']:>14} {r['snr_db']:>7g} {r['frames_received']:>6}/"
                         f"{r['frames_sent']:<6} {r['images_lost']:>5} {r['accuracy']:>9.3f} "
                         + (f"{r.get('images_abstained', 0):>9} " if smoothed else "") +
                         f"{r['psnr_db']:>8.2f} {r['ssim']:>6.3f}  {r['recording']}")
        if smoothed:
            lines.append("abstained: images the smoothed receiver's PREDICT abstained on (counted wrong in accuracy)")
        return "\n".join(lines)


def run_of(meta: dict, name: str, config: C.LoopbackConfig | None, key: int | None) -> tuple[C.LoopbackConfig, dict]:
    """(the loopback config, the run details) a recording's global metadata ``meta`` names, or
    ``config`` for a foreign recording. Raises ``RecordingError`` saying what is missing."""
    from ..io.sigmf_io import RecordingError

    stored = meta.get("semcom:config")
    ours = isinstance(stored, dict) and stored.get("experiment") == "loopback" and isinstance(stored.get("config"), dict)
    if not ours:
        if config is None:
            raise RecordingError(
                f"{name}: no semcom:config (not recorded by this version of semcom_phy): give the link it carries "
                "with --config FILE.yaml (a loopback config: link.ofdm, link.modem, link.codec, link.defense, "
                "link.interleave, and seed and num_images for the test images its frames carry)")
        return config, {"run_snr_db": None}
    try:
        cfg = C.load(C.LoopbackConfig, C.with_key(stored["config"], key))
    except ValueError as err:
        raise RecordingError(f"{name}: {err}") from None
    run = stored.get("run") if isinstance(stored.get("run"), dict) else {}
    return cfg, {**run, "run_snr_db": stored.get("run_snr_db")}


def replay_recording(meta_path: str | Path, *, device, test, key: int | None = None,
                     config: C.LoopbackConfig | None = None, export: bool = False):
    """One RX recording -> (the loopback's result row plus ``recording``, what ``export_frames``
    takes of it (``export``; else None), notes). ``test``: the Fashion-MNIST test split.

    The recording is read as it was sent, capture segment by capture segment (one per chunk of
    images, :func:`segments`), a block of samples at a time: memory does not grow with the
    recording's length (except with ``export``, which keeps every frame)."""
    import dataclasses

    import torch

    from ..data import check_indices, pick_indices, take_images
    from ..io.sigmf_io import RecordingError, open_recording
    from ..link import Link, RunMetrics
    from ..phy import StreamReceiver
    from ..purify import load_defense
    from ..semantic import load_codec
    from ..semantic.weights import find_manifest
    from .loopback import run_tags

    meta_path = Path(meta_path)
    notes: list[str] = []
    rec = open_recording(meta_path, notes)
    glob = rec.get_global_info()
    cfg, run = run_of(glob, meta_path.name, config, key)
    ofdm, link_cfg = cfg.link.ofdm, cfg.link
    rate = glob.get("core:sample_rate")
    if rate != ofdm.sample_rate_hz:
        raise RecordingError(f"{meta_path.name}: core:sample_rate {rate} Hz, the link's grid runs at "
                             f"{ofdm.sample_rate_hz:g} Hz (set link.ofdm.sample_rate_hz in --config)")
    weights = glob.get("semcom:weights") or {}
    codec_ref = weights.get("codec")
    manifest = find_manifest(codec_ref["sha256"], codec_ref.get("name")) if isinstance(codec_ref, dict) \
        else link_cfg.codec
    codec = load_codec(manifest, device)
    defense = load_defense(link_cfg.defense, codec, device)
    try:
        pick = check_indices(run["images"], len(test), "semcom:config run.images") if "images" in run else \
            pick_indices(cfg.num_images, np.random.default_rng(cfg.seed), len(test))
    except ValueError as err:
        raise RecordingError(f"{meta_path.name}: {err}") from None
    link = Link(codec, None, ofdm, link_cfg.modem, defense, torch.Generator(device).manual_seed(cfg.seed),
                link_cfg.interleave)
    sums, kept = RunMetrics(), []
    for start, stop, row, first_image, first_seq, n in segments(rec.get_captures(), rec.sample_count, len(pick),
                                                                 meta_path.name):
        x, labels, _ = take_images(test, pick[row:row + n], device)
        with torch.no_grad():
            z = link.sender.encode(x, link.generator).cpu().numpy().astype(np.complex64)
        rx = StreamReceiver(ofdm, link_cfg.modem)
        frames = []
        for a in range(start, stop, READ_SAMPLES):
            frames += rx.push(rec.read_samples(a, min(READ_SAMPLES, stop - a)).astype(np.complex64))
        frames += rx.flush()
        out = link.receive(z, frames, rx.stats, first_seq, first_image)
        sums.add(out, x, labels)
        if export:
            kept += [dataclasses.replace(f, start=f.start + start) for f in frames]
    snr = run["run_snr_db"]
    m = sums.result()
    channel, attack = run_tags(cfg)
    row = {"snr_db": snr if snr is not None else round(m["snr_est_db"] or float("nan"), 2),
           "channel": channel, "attack": attack, "defense": link_cfg.defense.defense, **m,
           "recording": meta_path.name}
    frames = (meta_path.name, rec.read_samples().astype(np.complex64), kept, rec.get_annotations(), ofdm, snr) \
        if export else None
    return row, frames, notes


READ_SAMPLES = 1 << 20
"""Samples a replay reads at a time."""


def segments(captures: list[dict], num_samples: int, num_images: int, name: str = "") -> list[tuple]:
    """The chunks a recording of ``num_images`` images was sent in, one per capture segment that
    names its chunk (``semcom:first_image``, ``semcom:first_seq``: the link's image index and
    sequence number at its start, ``semcom:images``): (first sample, end sample, row of its first
    image among the run's, first image, first sequence number, images). A recording without them
    (one run in one go, or made elsewhere) is one chunk. Raises ``RecordingError`` when the
    segments do not carry the run's images in order."""
    from ..io.sigmf_io import RecordingError

    named = [c for c in captures if "semcom:first_image" in c]
    if not named:
        return [(0, num_samples, 0, 0, 0, num_images)]
    out, row = [], 0
    base, base_seq = named[0].get("semcom:first_image"), named[0].get("semcom:first_seq")
    for c, after in zip(named, named[1:] + [None]):
        start, stop = c.get("core:sample_start"), num_samples if after is None else after.get("core:sample_start")
        first, seq, n = c.get("semcom:first_image"), c.get("semcom:first_seq"), c.get("semcom:images")
        if not all(isinstance(v, int) for v in (start, stop, first, seq, n, base, base_seq)) or n < 1 or \
                first - base != row or (seq - base_seq) & 0xFFFF != row & 0xFFFF or not 0 <= start <= stop <= num_samples:
            raise RecordingError(f"{name}: capture segment at sample {start}: semcom:first_image {first}, "
                                 f"first_seq {seq}, images {n} do not continue the run's chunks")
        out.append((start, stop, row, first, seq, n))
        row += n
    if row != num_images:
        raise RecordingError(f"{name}: the capture segments carry {row} images, the run sent {num_images}")
    return out


def replay(folder: str | Path, *, key: int | None = None, config: C.LoopbackConfig | None = None,
           device: str = "auto", data_dir: str | None = None, export: bool = False) -> ReplayResult:
    """Every ``*-rx.sigmf-meta`` of ``folder`` (or one such file), sorted by channel, attack and
    SNR; a recording that is refused (modified, edited, missing weights or key) is listed in
    ``errors`` and the others replay."""
    from ..data import load_split
    from ..io.sigmf_io import RecordingError
    from ..semantic import pick_device

    folder = Path(folder)
    metas = [folder] if folder.is_file() else sorted(folder.glob("*-rx.sigmf-meta"))
    if not metas:
        raise RecordingError(f"no *-rx.sigmf-meta recordings in {folder}")
    dev = pick_device(device)
    test = load_split("test", data_dir)
    result = ReplayResult([])
    from ..semantic.weights import WeightsError

    for meta in metas:
        try:
            row, frames, notes = replay_recording(meta, device=dev, test=test, key=key, config=config, export=export)
        except (RecordingError, WeightsError, ValueError) as err:          # refused: the others still replay
            result.errors.append(str(err))
            continue
        result.rows.append(row)
        result.notes += notes
        if export:
            result.frames.append(frames)
    result.rows.sort(key=lambda r: (r["channel"], r["attack"], r["snr_db"] is None, r["snr_db"]))
    return result


__all__ = ["ReplayResult", "replay", "replay_recording", "run_of", "segments"]
