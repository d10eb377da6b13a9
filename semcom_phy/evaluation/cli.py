"""``scripts/evaluate.py``: the robustness evaluation's command line (options, errors, exit status).

Exit status: 0 when every sanity check passes, 1 when one fails (the report is written first,
the failure at its top), 2 for a bad config, a missing dataset or weights, or an output that
cannot be written (named).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import yaml

from ..io import atomic_write, write_json
from ..experiments.cli import add_batch_options, check_outputs, load_batch, run_failures
from ..resources import package_dir
from .config import Config

CONFIG_DIR = package_dir() / "configs"      # shipped as package data (semcom_phy.resources)

HELP = """Robustness evaluation: channel x SNR x defense x attack x budget, over seeds.

Every cell runs on the differentiable link model (`semcom_phy.SymbolLink`: the defense's
sender, the channel as the equaliser leaves it, the defense's receiver), so every attack can take
gradients through the whole pipeline. `awgn` is Gaussian noise at the SNR; `multipath` is
Rayleigh fading per symbol after ZF equalisation (what a frequency-selective OFDM channel leaves
on the carriers). The OFDM PHY itself is measured by `loopback.py` and `bench_phy.py`.

Attacks (`budgets`: L-inf on [0, 1] images for T1, PSR in dB for T2):

===============  ====  ======================================================================
clean            -     no attack; also gives PSNR, SSIM and ms/image
noise            T1    uniform random signs at the L-inf budget (control)
pgd              T1    PGD L-inf crafted on the undefended link, then sent through the defense
                       (non-adaptive: the attacker ignores the defense)
pgd_adaptive     T1    PGD L-inf with full gradients through the defense and EOT
pgd_bpda         T1    the same with BPDA (identity backward through the purification)
pgd_fixed        T1    white box against one fixed noise draw, scored on that draw
jamming          T2    Gaussian jamming at the PSR (control)
air              T2    per-example PGD on the transmitted symbols, crafted on the undefended link
air_adaptive     T2    the same through the defense with EOT
air_fixed        T2    white box against one fixed draw of the link's randomness (for a scrambling
                       defense: the attacker who knows the key), scored on that draw
universal        T2    one perturbation for all images, learned through the defense on training
                       images
magnitude_match  T2    knows the source images and hears the transmission of one fixed draw
                       (`obs_snr_db`: its SNR, none: clean), recovers a permuting scrambling by
                       matching magnitudes, attacks as if it held that key, scored on that draw
===============  ====  ======================================================================

Defense entries name a `defense` of the semantic link (`none`, `receiver`, `latent`,
`image`, `median`, `advtrain`, `advtrain_t1`: `semcom_phy.purify`, each with or without
`scramble`, `scramble_mode: permute|mix`) or `digital`, the conventional link
(PNG + CRC-32 + convolutional code + QAM, `semcom_phy.digital`; options `modulation`,
`coded`), classified by the same classifier. The digital link has no gradient through its
decisions: its image attacks are white-box PGD on the classifier (a received image is exact or
lost), `air`/`air_adaptive`/`air_fixed` are the bit-burst attack on its packets and `universal` the
blind burst, `jamming` the Gaussian control, each at a PSR relative to the packet's own energy.

An attack entry may carry a `label` (default: its name; two entries of one attack need two
labels, e.g. a 100-step EOT-10 headline run next to a cheaper sweep) and may be restricted to some
`channels`, `snr_db`, `seeds` and the first `num_images` images of each seed's pick (costly
adaptive attacks run at the headline cell only). Each attacked cell is scored over `worst_of_n` draws of the pipeline's randomness: mean
accuracy and the worst-of-N figure (an attacker who may resubmit wins when any draw is wrong).
Writes `<out>/results.jsonl` (one row per cell: mean and spread over seeds; a re-run skips the
cells already there), `config.yaml`, `report.md` (sanity checks first, then tables) and plots.

Exit status: 0 when every sanity check passes, 1 when one fails (after writing the report, the
failure at its top), 2 for a bad config, a missing dataset, missing weights or an output that
cannot be written. Rows are keyed by a hash of everything that produced them: a changed field
reruns exactly the cells it touches, and the report shows only the current config's rows.
"""


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_batch_options(ap, "evaluate", out="results/<name>")
    ap.add_argument("--json", type=Path, default=None, help="also write {config, sanity, results} here")
    args = ap.parse_args(argv)
    path, cfg, device = load_batch(ap, args, Config)
    from ..version import code_version
    from .report import headline_table, status
    from .run import evaluate

    out = args.out or Path("results") / cfg.name
    check_outputs(ap, out, json=args.json)
    shown = path.resolve()
    shown = shown.relative_to(CONFIG_DIR.parent.parent) if shown.is_relative_to(CONFIG_DIR.parent.parent) else shown
    try:                               # OSError: an output not written (named), or Ray's ConnectionError
        out.mkdir(parents=True, exist_ok=True)
        atomic_write(out / "config.yaml", yaml.safe_dump({"config_file": str(shown), **cfg.__dict__,
                                                          "code": code_version()}, sort_keys=False))
        result = evaluate(cfg, out, device, args.data_dir, plot=not args.no_plot, ray=args.ray)
        if args.json:
            write_json(args.json, {"config": cfg.__dict__, "code": code_version(), "sanity": result.checks,
                                   "results": result.rows})
    except run_failures() as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print("\n".join(headline_table(result.rows, cfg)))
    for name, c in result.checks.items():
        print(f"{status(c)} {name}: {c['detail']}")
    print(f"wrote {out}/report.md")
    if not result.ok:
        print(f"error: sanity check(s) failed: {', '.join(result.failed)} (see {out}/report.md)", file=sys.stderr)
        return 1
    return 0
