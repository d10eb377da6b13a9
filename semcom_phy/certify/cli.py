"""``scripts/certify.py``: the certification's command line.

Exit status: 0 when it ran, 2 for a bad config, a missing dataset or weights, an output that
cannot be written (named), or ``--ray`` without Ray or without a cluster at its address.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..experiments.cli import add_batch_options, check_outputs, load_batch, run_failures
from .config import CertifyConfig

HELP = """Certified robustness of the semantic link (randomized smoothing, Cohen et al. 2019).

T2, the air: for each channel x SNR x receiver x sigma_r of the config, every test image's channel
is drawn once (the observed received symbols z_hat); the smoothed receiver adds its own complex
Gaussian noise CN(0, sigma_r^2) to z_hat, decodes (`none`: the noise-aware decoder told
no_eff + sigma_r^2; `latent`: the latent diffusion denoiser from the matching step first;
`image`: the image UNet after the decoder) and votes. CERTIFY (n0 + n draws, Clopper-Pearson at
alpha) gives each image a class and an L2 radius R = sigma_r / sqrt(2) * Phi^-1(pA_lower) on the
symbols, i.e. a PSR of 20 log10(R / sqrt(k)) dB: with probability >= 1 - alpha over the
receiver's draws, no air perturbation below it changes the smoothed decision.

T1, the image (t1_steps): the sender's diffusion to t_s is Gaussian noise on the image; a
receiver that votes over n0 + n transmissions of one image is certified in image L2
(R = sigma * Phi^-1(pA_lower), sigma = sqrt((1 - ab) / ab) / 2), at the air time it costs.

PREDICT (n_predict draws) gives the clean accuracy with abstention; the attacks crafted against
the smoothed receivers (smoothed_psr_db, t1_attack_eps) and the undefended link's go on the same
plots.

Writes <out>/results.jsonl (one row per cell, keyed by what produced it: a rerun computes only
what changed), config.yaml (the resolved config and the code version), certified.png (T2) and
certified_t1.png (T1). docs/certify.md.
"""


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_batch_options(ap, "certify", default="certify_quick", out="results/certify/<name>")
    args = ap.parse_args(argv)
    _, cfg, device = load_batch(ap, args, CertifyConfig)
    out = args.out or Path("results") / "certify" / cfg.name
    check_outputs(ap, out)
    from .report import table
    from .run import certify_run

    try:
        result = certify_run(cfg, out, device, args.data_dir, plot_it=not args.no_plot, ray=args.ray)
    except run_failures() as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print("\n".join(table(result.rows)))
    print(f"wrote {out}/results.jsonl and {out}/config.yaml" + ("" if args.no_plot else ", the plots"))
    return 0
