#!/usr/bin/env python3
"""Record an IQ dataset: the loopback over a chosen link, every run's TX and RX streams as SigMF.

    python scripts/record.py --out data/awgn --snr 0 5 10 --num-images 256
    python scripts/record.py --out data/gr --link gnuradio --channel multipath
    python scripts/record.py --out data/air --link pluto --uri ip:192.168.2.1

Every option but ``--out`` is the loopback's (``scripts/loopback.py --help``); each SNR (or the one
over-the-air run) gives ``<link>_<channel>_<snr>-tx`` and ``-rx`` recordings (``cf32_le``, one
annotation per frame with its sequence number, test-image indices, labels, configured SNR,
measured SNR and CFO on the RX side, and the defense). ``DIR/index.csv`` lists them: file,
stream, link, channel, SNR, attack, frames, samples, SHA-512; the loopback's own results (table,
plots, ``config.yaml``) go to ``DIR/runs/``. ``--json`` holds the live run's rows, as the loopback
writes them; ``scripts/replay.py DIR`` decodes the recordings again.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import loopback  # noqa: E402  (the experiment; this script records it and indexes the recordings)

FIELDS = ("file", "stream", "link", "channel", "snr_db", "attack", "frames", "samples", "sha512")


def index(folder: Path) -> list[dict]:
    rows = []
    for meta in sorted(folder.glob("*.sigmf-meta")):
        doc = json.loads(meta.read_text())
        g, cfg = doc["global"], doc["global"]["semcom:config"]
        rows.append({"file": meta.name, "stream": "rx" if meta.stem.endswith("-rx") else "tx",
                     "link": cfg["args"]["link"], "channel": "air" if cfg["args"]["link"].startswith("pluto")
                     else cfg["args"]["channel"], "snr_db": cfg["run_snr_db"], "attack": "none",
                     "frames": len(doc.get("annotations", [])),
                     "samples": meta.with_suffix(".sigmf-data").stat().st_size // 8, "sha512": g["core:sha512"]})
    with open(folder / "index.csv", "w", newline="") as f:
        w = csv.DictWriter(f, FIELDS)
        w.writeheader()
        w.writerows(rows)
    return rows


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog="every other option goes to scripts/loopback.py (see its --help)")
    ap.add_argument("--out", type=Path, required=True, help="the dataset folder")
    args, rest = ap.parse_known_args(argv)
    if "--record" in rest:
        ap.error("--record is set by --out here (the loopback's results go to OUT/runs)")
    rc = loopback.main(["--record", str(args.out), "--out", str(args.out / "runs"), *rest])
    if rc == 0:
        rows = index(args.out)
        print(f"{len(rows)} recordings in {args.out} (index.csv)")
    return rc


if __name__ == "__main__":
    sys.exit(main())
