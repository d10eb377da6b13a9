#!/usr/bin/env python3
"""Record an IQ dataset: the loopback over a chosen link, every run's TX and RX streams as SigMF.

    python scripts/record.py --out data/awgn --snr 0 5 10 --num-images 256
    python scripts/record.py --out data/gr --link gnuradio --channel multipath
    python scripts/record.py --out data/air --link pluto --uri ip:192.168.2.1
    python scripts/record.py --out data/sweep --channel awgn multipath --attack none jamming air

Every option but ``--out``, ``--json`` and the lists ``--channel`` and ``--attack`` (one channel
over the air) is the loopback's (``scripts/loopback.py --help``); the loopback runs once per channel and attack, and
each SNR of it (or the one over-the-air run) gives ``<link>_<channel>_<snr>dB[_<attack>]-tx`` and
``-rx`` recordings (``cf32_le``, one annotation per frame with its sequence number, test-image
indices, labels, configured SNR, measured SNR and CFO on the RX side, the defense and the
attack with its budget). ``DIR/index.csv`` lists them: file, stream, link, channel, SNR, attack,
frames, samples, SHA-512; the loopback's own results (table, plots, ``config.yaml``) go to
``DIR/runs/``. ``--json`` writes ``{"runs": [loopback documents], "results": [rows]}``, the rows
as the loopback writes them (with ``channel`` and ``attack``); ``scripts/replay.py DIR`` decodes
the recordings again and writes the same rows.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import loopback  # noqa: E402  (the experiment; this script records it and indexes the recordings)

from semcom_phy.attacks.live import LIVE_ATTACKS  # noqa: E402
from semcom_phy.channel import PROFILES  # noqa: E402

FIELDS = ("file", "stream", "link", "channel", "snr_db", "attack", "frames", "samples", "sha512")


def index(folder: Path) -> list[dict]:
    rows = []
    for meta in sorted(folder.glob("*.sigmf-meta")):
        doc = json.loads(meta.read_text())
        g, cfg = doc["global"], doc["global"]["semcom:config"]
        rows.append({"file": meta.name, "stream": "rx" if meta.stem.endswith("-rx") else "tx",
                     "link": cfg["args"]["link"], **dict(zip(("channel", "attack"), loopback.run_tags(cfg))),
                     "snr_db": cfg["run_snr_db"],
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
    ap.add_argument("--link", choices=loopback.LINKS, default="sim", help="as the loopback's (default sim)")
    ap.add_argument("--channel", nargs="+", choices=sorted(PROFILES), default=["awgn"],
                    help="channel profiles to sweep (default awgn)")
    ap.add_argument("--attack", nargs="+", choices=LIVE_ATTACKS, default=["none"],
                    help="attacks to sweep (default none; budgets: the loopback's --psr-db, --eps)")
    ap.add_argument("--json", type=Path, default=None, help="write {runs, results} of the live runs here")
    args, rest = ap.parse_known_args(argv)
    if "--record" in rest:
        ap.error("--record is set by --out here (the loopback's results go to OUT/runs)")
    if args.link.startswith("pluto") and len(args.channel) > 1:
        ap.error(f"--link {args.link}: the air is the channel, so there is no --channel to sweep")
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        for channel in args.channel:
            for attack in args.attack:
                doc = Path(tmp) / f"{len(runs)}.json"
                rc = loopback.main(["--record", str(args.out), "--out", str(args.out / "runs"), "--link", args.link,
                                    "--channel", channel, "--attack", attack, "--json", str(doc), *rest])
                if rc != 0:
                    return rc
                runs.append(json.loads(doc.read_text()))
    rows = index(args.out)
    print(f"{len(rows)} recordings in {args.out} (index.csv)")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"runs": runs, "results": [r for d in runs for r in d["results"]]}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
