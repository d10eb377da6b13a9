#!/usr/bin/env python3
"""Replay recorded link runs offline: receiver, purification, decoder and classifier on the
recorded RX IQ, with the metrics a live run prints.

    python scripts/loopback.py --record data/run1        # or scripts/record.py
    python scripts/replay.py data/run1 --json replay.json --export frames.npz

Each ``*-rx.sigmf-meta`` in DIR is checked first (size and SHA-512 against its metadata: a
truncated or modified recording is reported, never decoded), then its ``semcom:config`` rebuilds
the run: the codec (its SHA-256 must match the recording's ``semcom:weights``), the defense, the
OFDM and modem settings, the interleaving and the test images. The stream receiver then finds the
frames in the whole recording. The replay reproduces the live run's numbers exactly, attacked
runs included (the attack is in the recorded IQ; metrics refer to the clean images), and so do
stochastic defenses when replayed on the same kind of device (the receiver's random draws come
from a generator seeded from the run's seed alone).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch

from semcom_phy.config import ModemConfig, OfdmConfig, from_dict
from semcom_phy.data import DatasetError, load_split, to_tensor
from semcom_phy.io.sigmf_io import RecordingError, export_frames, open_recording
from semcom_phy.link import SemanticLink
from semcom_phy.phy import StreamReceiver
from semcom_phy.purify import DefenseConfig, load_defense
from semcom_phy.semantic import WeightsError, load_codec, pick_device

sys.path.insert(0, str(Path(__file__).resolve().parent))
from loopback import run_tags  # the loopback's channel and attack names of a run


def replay(meta_path: Path, device, test) -> tuple[dict, tuple]:
    """One recording and the test split -> (the loopback's result row plus ``recording``, what
    :func:`~semcom_phy.io.sigmf_io.export_frames` takes of it)."""
    rec = open_recording(meta_path)
    cfg = rec.get_global_field("semcom:config")
    weights = rec.get_global_field("semcom:weights")
    codec = load_codec(cfg["codec"]["manifest"], device)
    if codec.sha256 != weights["codec"]:
        raise WeightsError(f"{meta_path}: recorded with codec {weights['codec'][:16]}..., "
                           f"{cfg['codec']['manifest']} is {codec.sha256[:16]}...")
    defense = load_defense(DefenseConfig(**cfg["defense"]), codec, device)
    ofdm, modem = from_dict(OfdmConfig, cfg["ofdm"]), from_dict(ModemConfig, cfg["modem"])
    pick = np.asarray(cfg["images"])
    x = to_tensor(test.images[pick]).to(device)
    labels = torch.from_numpy(test.labels[pick].astype(np.int64)).to(device)

    link = SemanticLink(codec, None, ofdm, modem, defense, torch.Generator(device).manual_seed(cfg["args"]["seed"]),
                        cfg["args"]["interleave"])
    with torch.no_grad():
        z = defense.encode(x, link.generator).cpu().numpy().astype(np.complex64)
    samples = rec.read_samples().astype(np.complex64)
    rx = StreamReceiver(ofdm, modem)
    frames = rx.push(samples) + rx.flush()
    out = link.receive(z, frames, rx.stats)
    snr = cfg["run_snr_db"]
    m = out.metrics(x, labels)
    channel, attack = run_tags(cfg)
    row = {"snr_db": snr if snr is not None else round(m["snr_est_db"] or float("nan"), 2),
           "channel": channel, "attack": attack, **m, "recording": str(meta_path)}
    return row, (meta_path.name, samples, frames, rec.get_annotations(), ofdm, snr)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("dir", type=Path, help="a folder of recordings (loopback.py --record, record.py)")
    ap.add_argument("--json", type=Path, default=None, help="write {recordings, results} here")
    ap.add_argument("--export", type=Path, default=None, metavar="NPZ",
                    help="also write every frame (IQ, equalised symbols, no_eff, image, label, SNRs, CFO, attack) to this "
                         ".npz; semcom_phy.io.sigmf_io.load_frames reads it")
    ap.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
    ap.add_argument("--data-dir", type=Path, default=None, help="Fashion-MNIST folder (default: Debian path)")
    args = ap.parse_args(argv)
    metas = sorted(args.dir.glob("*-rx.sigmf-meta"))
    if not metas:
        print(f"error: no *-rx.sigmf-meta recordings in {args.dir}", file=sys.stderr)
        return 2
    device = pick_device(args.device)
    rows, received = [], []
    try:
        test = load_split("test", args.data_dir)
        for meta in metas:
            row, frames = replay(meta, device, test)
            rows.append(row)
            if args.export:
                received.append(frames)
    except (RecordingError, WeightsError, DatasetError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    rows.sort(key=lambda r: (r["channel"], r["attack"], r["snr_db"] is None, r["snr_db"]))
    print(f"{'channel':>9} {'attack':>14} {'SNR dB':>7} {'frames rx/tx':>13} {'lost':>5} {'accuracy':>9} {'PSNR dB':>8} "
          f"{'SSIM':>6}  recording")
    for r in rows:
        print(f"{r['channel']:>9} {r['attack']:>14} {r['snr_db']:>7g} {r['frames_received']:>6}/{r['frames_sent']:<6} "
              f"{r['images_lost']:>5} "
              f"{r['accuracy']:>9.3f} {r['psnr_db']:>8.2f} {r['ssim']:>6.3f}  {Path(r['recording']).name}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"recordings": [r["recording"] for r in rows], "results": rows}, indent=1))
    if args.export:
        frames = export_frames(received, args.export)
        print(f"{len(frames['seq'])} frames exported to {args.export}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
