"""Where the shipped weights live and the options every training script takes: torch-free, so
the scripts build their parsers (and answer ``--help``) before they import torch.
:mod:`.weights` re-exports both names."""

from __future__ import annotations

from pathlib import Path

from ..resources import weights_dir

__all__ = ["WEIGHTS_DIR", "add_training_options"]

WEIGHTS_DIR = weights_dir()                 # semcom_phy/weights, shipped as package data


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
