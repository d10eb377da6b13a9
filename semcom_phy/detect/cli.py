"""``scripts/detect.py``: the detection experiment's command line.

Exit status: 0 when it ran, 2 for a bad config or option, a missing dataset or weights, or an
output that cannot be written (named); 130 / 143 when interrupted (the finished rows are kept).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..experiments.cli import add_batch_options, check_outputs, load_batch, run_failures
from ..experiments.commands import interruptible
from .config import DetectConfig

HELP = """Attack detection from the diffusion models' residuals.

For each channel x SNR of the config, the detector scores every received vector (one fresh
channel draw; higher = more suspicious):
  latent_residual  the received symbols vs the latent denoiser's one-shot estimate of them from
                   the step matching the measured noise no_eff (plus latent_offset steps of
                   fresh noise, latent_draws draws), relative to no_eff
  image_residual   the decoded image vs the image UNet's DiffPure purification of it (image_step)
  cycle_residual   the symbols vs the re-encoded decoded image (the codec's own manifold; baseline)
  disagreement     the plain receiver's class posterior vs after the latent denoiser
  combined         the largest of the four, each scaled so its own threshold is 1

Protocol: one permutation of the test set (seed) gives two disjoint splits: num_images scored,
calibration_images to calibrate. The thresholds (false_alarm on clean calibration traffic) and
the combined score are fitted on the calibration split only. On the scored split: clean traffic
(the realised false-alarm rate) and each attack: pgd_air (T2, white box on the undefended link,
non-adaptive), the universal perturbation (T2, one for every image, learned on universal_images
training images) and Gaussian jamming (the control) at each psr_db, image pgd (T1, L-inf linf), and
the adaptive attacker (PGD on the air perturbation maximising cross-entropy minus lambda times
the detector's calibrated score, at adaptive_psr_db). Reported: AUC (Mann-Whitney), detection
at the calibrated threshold, the receiver's accuracy, and the attacker's real success
(misclassified and not flagged).

Writes <out>/results.jsonl (one row per condition, keyed by what produced it: a rerun computes
only what changed), config.yaml (the resolved config and the code version) and roc.png (ROC per
score, AUC in the legend). docs/detect.md.
"""


@interruptible
def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_batch_options(ap, "detect", default="detect_quick", out="results/detect/<name>", ray=False)
    args = ap.parse_args(argv)
    _, cfg, device = load_batch(ap, args, DetectConfig)
    from .run import check_image_step, detect_run, table

    try:
        check_image_step(cfg)
    except ValueError as err:
        ap.error(str(err))
    out = args.out or Path("results") / "detect" / cfg.name
    check_outputs(ap, out)
    try:
        result = detect_run(cfg, out, device, args.data_dir, plot_it=not args.no_plot)
    except run_failures() as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print("\n".join(table(result.rows)))
    print(f"wrote {out}/results.jsonl" + ("" if args.no_plot else f", {out}/roc.png"))
    return 0
