"""Where the shipped weights live, their manifests (name -> path, the JSON read and checked) and
the options every training script takes: torch-free, so the scripts build their parsers (and
answer ``--help``, check their outputs' size) before they import torch. :mod:`.weights` re-exports
these names."""

from __future__ import annotations

import json
from pathlib import Path

from ..resources import weights_dir

__all__ = ["WEIGHTS_DIR", "WeightsError", "add_training_options", "read_manifest", "resolve_manifest"]

WEIGHTS_DIR = weights_dir()                 # semcom_phy/weights, shipped as package data


class WeightsError(RuntimeError):
    """Missing, modified or mismatched weights."""


def read_manifest(path: Path) -> dict:
    """A manifest's JSON, with the keys every manifest has (``file``, ``sha256``, ``config``);
    WeightsError naming the file and what is wrong otherwise."""
    path = Path(path)
    if path.is_dir():
        raise WeightsError(f"{path} is a folder: give a manifest (<name>.json), e.g. {path / 'codec.json'}")
    try:
        manifest = json.loads(path.read_text())
    except FileNotFoundError as err:
        raise WeightsError(f"manifest {path} not found: train with scripts/train_codec.py or restore it "
                           "from git") from err
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise WeightsError(f"manifest {path} is not valid JSON: {err}") from err
    missing = [k for k in ("file", "sha256", "config") if not isinstance(manifest, dict) or k not in manifest]
    if missing:
        raise WeightsError(f"manifest {path} lacks {', '.join(missing)}: not a weights manifest of this project")
    return manifest


def resolve_manifest(name: str | Path) -> Path:
    """A manifest path from a shipped weights name (``"codec"`` -> ``semcom_phy/weights/codec.json``)
    or a path (anything with a ``.json`` suffix or a folder in it). WeightsError naming the shipped
    weights when a name is not one of them."""
    text = str(name)
    if text.endswith(".json") or "/" in text or "\\" in text:
        return Path(text)
    path = WEIGHTS_DIR / f"{text}.json"
    if not path.is_file():
        names = sorted(p.stem for p in WEIGHTS_DIR.glob("*.json"))
        raise WeightsError(f"weights {text!r}: not a shipped name ({', '.join(names)}) nor a manifest path")
    return path


def add_training_options(ap) -> None:
    """The options every training script takes: ``--seed``, ``--device``, ``--threads``, ``--limit``,
    ``--data-dir`` and ``--out`` (an ``argparse.ArgumentParser``)."""
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
    ap.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    ap.add_argument("--limit", type=int, default=0,
                    help="use only this many training (and at most this many test) images: smoke tests")
    ap.add_argument("--data-dir", type=Path, default=None, help="Fashion-MNIST folder (default: Debian path)")
    ap.add_argument("--out", type=Path, default=WEIGHTS_DIR)
