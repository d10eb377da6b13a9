#!/usr/bin/env python3
"""Over the air: the semantic loopback through PlutoSDR radios, from a hardware preset.

    python scripts/ota.py --preset cable                       # one radio, TX -> 30 dB -> RX cable
    python scripts/ota.py --preset ism-2.4 --tx-uri ip:192.168.2.1 --rx-uri ip:192.168.3.1
    python scripts/ota.py --preset virtual                     # two virtual radios: runs anywhere

A preset (``hardware/presets/<name>.yaml``, or a path) holds radio settings (``PlutoConfig``
fields); options given here win over it. Every other option is the loopback's
(``scripts/loopback.py --help``: images, defense, interleaving, ``--json``, ``--out``...), and the
table, plots and ``results/`` files are the loopback's. ``--link pluto`` (default) drives the
radios with pyadi-iio; ``--link pluto-gnuradio`` through GNU Radio's gr-iio flowgraph
(``flowgraphs/pluto_txrx.py``). See ``hardware/README.md`` for the set-up.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
import loopback  # noqa: E402  (the loopback is the experiment; this script only sets its radio options)

PRESET_DIR = Path(__file__).resolve().parent.parent / "hardware" / "presets"
OPTIONS = {"uri": "--uri", "tx_uri": "--tx-uri", "rx_uri": "--rx-uri", "lo_hz": "--lo-hz",
           "rx_gain_db": "--rx-gain-db", "tx_attenuation_db": "--tx-attenuation-db"}
FIXED = {"sample_rate_hz": 2e6, "rf_bandwidth_hz": 2e6}      # the OFDM grid's rate


def load_preset(name: str) -> dict:
    path = Path(name) if Path(name).suffix else PRESET_DIR / f"{name}.yaml"
    if not path.is_file():
        names = sorted(p.stem for p in PRESET_DIR.glob("*.yaml"))
        raise ValueError(f"--preset {name}: no file {path}; presets: {', '.join(names)}")
    data = yaml.safe_load(path.read_text()) or {}
    data.pop("description", None)
    unknown = set(data) - set(OPTIONS) - set(FIXED)
    if unknown:
        raise ValueError(f"{path}: unknown keys {sorted(unknown)}; allowed: {sorted(OPTIONS) + sorted(FIXED)}")
    for key, value in FIXED.items():
        if key in data and float(data[key]) != value:
            raise ValueError(f"{path}: {key} = {data[key]}: the OFDM grid runs at {value:g} (set it there to change)")
    return data


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog="every other option goes to scripts/loopback.py (see its --help)")
    ap.add_argument("--preset", default="cable", help="hardware/presets/<NAME>.yaml or a YAML path (default cable)")
    ap.add_argument("--link", choices=["pluto", "pluto-gnuradio"], default="pluto",
                    help="pyadi-iio (default) or GNU Radio's gr-iio flowgraph")
    args, rest = ap.parse_known_args(argv)
    try:
        preset = load_preset(args.preset)
    except (ValueError, yaml.YAMLError) as err:
        ap.error(str(err))
    given = {a.split("=")[0] for a in rest if a.startswith("--")}
    from_preset = [x for key, opt in OPTIONS.items() if key in preset and opt not in given
                   for x in (opt, str(preset[key]))]
    return loopback.main(["--link", args.link, *from_preset, *rest])


if __name__ == "__main__":
    sys.exit(main())
