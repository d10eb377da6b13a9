"""What each row of a certification computes, by kind, and what identifies it.

=============  =====================================================  ==============================
kind           cell                                                   the row
=============  =====================================================  ==============================
certify        (channel, snr, receiver, sigma)                        T2: CERTIFY and PREDICT on the
                                                                      received symbols
smoothed_air   (channel, snr, receiver, sigma, psr_db)                T2: ``pgd_air`` on the smoothed
                                                                      receiver (EOT over its noise),
                                                                      then PREDICT
air            (channel, snr, psr_db)                                 the undefended link under
                                                                      ``pgd_air``
t1             (channel, snr, receiver, t_s)                          T1: CERTIFY and PREDICT over the
                                                                      sender's image diffusion
t1_attack      (channel, snr, receiver, t_s, eps)                     T1: ``pgd`` L2 through the
                                                                      diffusing sender, then PREDICT
image_pgd      (channel, snr, eps)                                    the undefended link under
                                                                      ``pgd`` L2
=============  =====================================================  ==============================

The channel of a T2 image is drawn once (:func:`observe`): the received symbols ``z_hat`` and their
``no_eff`` are the observed input, the same for every sigma and every attack on that receiver. A
T1 draw is a whole transmission (the sender's noise, the channel, the receiver's draws).
Every row's key is a hash of :func:`cell_spec`; :func:`compute_cell` is what the in-process loop
and the Ray workers run.
"""

from __future__ import annotations

import zlib

import numpy as np

from .config import CertifyConfig

__all__ = ["CELL_VERSION", "CHUNK", "KINDS", "cells", "cell_spec", "cell_cost", "compute_cell", "observe",
           "runner_config", "weights_label"]

CELL_VERSION = 1
"""Bump when a cell's computation changes: every row is then computed again."""

CHUNK = 16
"""Images certified per call (the progress report's step; part of what fixes the draws)."""

ATTACK_CHUNK = 64
"""Images attacked per PGD call (EOT copies of each share it)."""


def runner_config(cfg: CertifyConfig):
    """The evaluation :class:`~semcom_phy.evaluation.config.Config` whose
    :class:`~semcom_phy.evaluation.runner.Runner` loads the receivers' models and picks the images."""
    from ..evaluation.config import Config
    from .receivers import receiver_defenses

    return Config(name=cfg.name, num_images=cfg.num_images, seeds=[cfg.seed], channels=list(cfg.channels),
                  snr_db=list(cfg.snr_db), defenses=receiver_defenses(cfg))


def cells(cfg: CertifyConfig) -> list[tuple]:
    """Every row of the config, in this order: certify, smoothed_air, air, t1, t1_attack, image_pgd
    (the module doc's table)."""
    grid = [(c, s) for c in cfg.channels for s in cfg.snr_db]
    out = [("certify", c, s, r, sig) for c, s in grid for r in cfg.receivers for sig in cfg.sigmas]
    out += [("smoothed_air", c, s, r, sig, p) for c, s in grid for r in cfg.receivers for sig in cfg.sigmas
            for p in cfg.smoothed_psr_db]
    out += [("air", c, s, p) for c, s in grid for p in cfg.air_psr_db]
    out += [("t1", c, s, r, t) for c, s in grid for r in cfg.t1_receivers for t in cfg.t1_steps]
    out += [("t1_attack", c, s, r, t, e) for c, s in grid for r in cfg.t1_receivers for t in cfg.t1_steps
            for e in cfg.t1_attack_eps]
    return out + [("image_pgd", c, s, e) for c, s in grid for e in (cfg.t1_attack_eps if cfg.t1_steps else ())]


def weights_label(cell: tuple) -> str:
    """The runner's defense label whose weights name a row (:func:`cell_spec`'s ``weights``)."""
    from .receivers import t1_label

    if cell[0] in ("certify", "smoothed_air"):
        return cell[3]
    if cell[0] in ("t1", "t1_attack"):
        return t1_label(cell[4]) if cell[3] == "image" else "none"
    return "none"


def _salt(*parts) -> int:
    return zlib.crc32(" ".join(map(str, parts)).encode())


def cell_spec(cfg: CertifyConfig, cell: tuple, weights: dict) -> dict:
    """Everything that produces one row (its key is the hash)."""
    common = {"num_images": cfg.num_images, "seed": cfg.seed, "weights": weights, "cell_version": CELL_VERSION}
    kind, channel, snr = cell[:3]
    attack = {"steps": cfg.attack_steps, "eot": cfg.attack_eot, "chunk": ATTACK_CHUNK}
    if kind == "air":
        return {"kind": "air", "channel": channel, "snr_db": snr, "psr_db": cell[3], "steps": cfg.air_steps, **common}
    if kind == "image_pgd":
        return {"kind": kind, "channel": channel, "snr_db": snr, "eps": cell[3], "steps": cfg.attack_steps, **common}
    receiver = cell[3]
    nfe = {"latent_nfe": cfg.latent_nfe if receiver == "latent" else None}
    if receiver == "image":
        nfe["image_nfe"] = cfg.image_nfe
        if kind in ("certify", "smoothed_air"):
            nfe["image_step"] = cfg.image_step
    spec = {"kind": kind, "channel": channel, "snr_db": snr, "receiver": receiver, **nfe, **common}
    if kind == "certify":
        return {**spec, "sigma": cell[4], "n0": cfg.n0, "n": cfg.n, "n_predict": cfg.n_predict, "alpha": cfg.alpha,
                "batch": cfg.batch, "chunk": CHUNK}
    if kind == "smoothed_air":
        return {**spec, "sigma": cell[4], "psr_db": cell[5], "n_predict": cfg.n_predict, "alpha": cfg.alpha,
                "batch": cfg.batch, **attack}
    if kind == "t1":
        return {**spec, "t_s": cell[4], "n0": cfg.n0, "n": cfg.n, "n_predict": cfg.n_predict, "alpha": cfg.alpha,
                "batch": cfg.batch, "chunk": CHUNK}
    return {**spec, "t_s": cell[4], "eps": cell[5], "n_predict": cfg.n_predict, "alpha": cfg.alpha,
            "batch": cfg.batch, **attack}


def observe(runner, channel: str, snr: float, x, seed: int, receiver: str = "none"):
    """The channel's realisation, drawn once per image: the receiver's codec's symbols s complex
    [B, k] of images x (no sender diffusion: the link's codec for ``none`` and ``latent``, the
    image defense's for ``image``) through :func:`~semcom_phy.semantic.symbol_channel` ->
    (z_hat complex [B, k], no_eff float [B, k], s). The same channel draw for every receiver and
    sigma at this (channel, SNR)."""
    import torch

    from ..semantic import symbol_channel

    with torch.no_grad():
        s = runner.defenses[receiver].codec.encode(x)
        b = len(s)
        gen = runner.gen(seed, _salt("channel", channel, snr))
        z_hat, no_eff = symbol_channel(s, torch.full((b,), float(snr), device=s.device),
                                       torch.full((b,), channel == "multipath", dtype=torch.bool, device=s.device), gen)
    return z_hat, no_eff, s


def _certified(runner, cfg: CertifyConfig, f, inputs, sigma: float, gen, side, on_images) -> tuple:
    """CERTIFY and PREDICT on every input, CHUNK at a time -> (prediction, radius float64 numpy,
    PREDICT's classes), on the CPU."""
    import torch

    from .smoothing import certify, predict

    pred, radius, clean = [], [], []
    for start in range(0, len(inputs), CHUNK):
        sl = slice(start, start + CHUNK)
        side_sl = None if side is None else side[sl]
        c = certify(f, inputs[sl], sigma, cfg.n0, cfg.n, cfg.alpha, cfg.batch, gen, side=side_sl)
        p = predict(f, inputs[sl], sigma, cfg.n_predict, cfg.alpha, cfg.batch, gen, side=side_sl)
        pred.append(c.prediction), radius.append(c.radius), clean.append(p.prediction)
        on_images(len(c.prediction))
    return torch.cat(pred), torch.cat(radius).numpy(), torch.cat(clean)


def _accuracy_fields(pred, clean, y) -> dict:
    return {"clean_accuracy": float((clean == y).float().mean()), "abstain_rate": float((clean < 0).float().mean()),
            "certify_abstain_rate": float((pred < 0).float().mean())}


def certify_cell(runner, cfg: CertifyConfig, channel: str, snr: float, receiver: str, sigma: float,
                 on_images=lambda n: None) -> dict:
    """One certify row's numbers: CERTIFY and PREDICT on every image of ``runner.data(cfg.seed)``."""
    from .receivers import SmoothedReceiver
    from .smoothing import max_radius, psr_db_to_radius, radius_to_psr_db

    x, y = runner.data(cfg.seed)
    z_hat, no_eff, _ = observe(runner, channel, snr, x, cfg.seed, receiver)
    f = SmoothedReceiver(runner.defenses[receiver], sigma)
    gen = runner.gen(cfg.seed, _salt("certify", channel, snr, receiver, sigma))
    pred, radius, clean = _certified(runner, cfg, f, z_hat, sigma, gen, no_eff, on_images)
    y = y.cpu()
    k = z_hat.shape[1]
    correct = (pred == y).numpy()
    cap = max_radius(sigma, cfg.n, cfg.alpha)
    return {**_accuracy_fields(pred, clean, y),
            "certified_accuracy": [[p, float(np.mean(correct & (radius > psr_db_to_radius(p, k))))]
                                   for p in cfg.psr_db],
            "radius_cap": cap, "radius_cap_psr_db": float(radius_to_psr_db(cap, k)), "num_symbols": k,
            "label": y.tolist(), "prediction": pred.tolist(), "radius": [round(float(r), 6) for r in radius],
            "radius_psr_db": [None if r <= 0 else round(float(radius_to_psr_db(r, k)), 3) for r in radius],
            "predict": clean.tolist()}


def smoothed_air_cell(runner, cfg: CertifyConfig, channel: str, snr: float, receiver: str, sigma: float,
                      psr: float, on_images=lambda n: None) -> dict:
    """The smoothed receiver under ``pgd_air`` at ``psr`` dB, crafted through its base classifier
    with EOT over its noise for the channel realisation of :func:`observe` (the one its
    certificates are conditioned on), then PREDICT on the attacked symbols: ``accuracy``
    (abstentions wrong), ``abstain_rate`` and the per-image ``predict``."""
    import torch

    from ..attacks import pgd_air
    from .receivers import SmoothedLink, SmoothedReceiver
    from .smoothing import predict

    x, y = runner.data(cfg.seed)
    z_hat, no_eff, s = observe(runner, channel, snr, x, cfg.seed, receiver)
    f = SmoothedReceiver(runner.defenses[receiver], sigma)
    gen = runner.gen(cfg.seed, _salt("smoothed_air", channel, snr, receiver, sigma, psr))
    after = []
    for start in range(0, len(x), ATTACK_CHUNK):
        sl = slice(start, start + ATTACK_CHUNK)
        link = SmoothedLink(f, z_hat[sl] - s[sl], no_eff[sl], snr)
        delta = pgd_air(link, x[sl], y[sl], psr, steps=cfg.attack_steps, eot=cfg.attack_eot, generator=gen)
        after.append(predict(f, z_hat[sl] + delta, sigma, cfg.n_predict, cfg.alpha, cfg.batch, gen,
                             side=no_eff[sl]).prediction)
        on_images(len(after[-1]))
    after, y = torch.cat(after), y.cpu()
    return {"accuracy": float((after == y).float().mean()), "abstain_rate": float((after < 0).float().mean()),
            "predict": after.tolist()}


def air_cell(runner, cfg: CertifyConfig, channel: str, snr: float, psr: float) -> dict:
    """The undefended link's accuracy under ``pgd_air`` at ``psr`` dB (and without attack), one draw."""
    from ..attacks import evaluate, pgd_air
    from ..symbol_link import SymbolLink

    x, y = runner.data(cfg.seed)
    model = SymbolLink(runner.undefended, snr, channel == "multipath")
    gen = runner.gen(cfg.seed, _salt("air", channel, snr, psr))
    delta = pgd_air(model, x, y, psr, steps=cfg.air_steps, generator=gen)
    return {"accuracy": evaluate(model, x, y, delta, n=1, generator=gen)["accuracy"],
            "clean_accuracy": evaluate(model, x, y, None, n=1, generator=gen)["accuracy"]}


def _image_smoothing(runner, channel: str, snr: float, receiver: str, t_s: int):
    from .image import ImageSmoothing
    from .receivers import t1_label

    image = runner.defenses[t1_label(t_s)]
    return ImageSmoothing(image if receiver == "image" else runner.undefended, image.schedule, t_s, snr,
                          channel == "multipath")


def t1_cell(runner, cfg: CertifyConfig, channel: str, snr: float, receiver: str, t_s: int,
            on_images=lambda n: None) -> dict:
    """One t1 row: CERTIFY and PREDICT over the sender's diffusion to ``t_s`` (:mod:`.image`) on
    every image: certified accuracy at the L2 radii ``l2_eps``, the per-image radii, and the air
    time the ``n0 + n`` transmissions of an image take."""
    from .image import air_time_per_image
    from .smoothing import max_radius

    x, y = runner.data(cfg.seed)
    f = _image_smoothing(runner, channel, snr, receiver, t_s)
    gen = runner.gen(cfg.seed, _salt("t1", channel, snr, receiver, t_s))
    pred, radius, clean = _certified(runner, cfg, f, x, f.sigma, gen, None, on_images)
    y = y.cpu()
    correct = (pred == y).numpy()
    per_tx = air_time_per_image()
    return {**_accuracy_fields(pred, clean, y), "sigma_image": f.sigma,
            "certified_accuracy": [[e, float(np.mean(correct & (radius > e)))] for e in cfg.l2_eps],
            "radius_cap": max_radius(f.sigma, cfg.n, cfg.alpha, is_complex=False),
            "air_time_s_per_transmission": per_tx, "air_time_s_per_image": (cfg.n0 + cfg.n) * per_tx,
            "label": y.tolist(), "prediction": pred.tolist(), "radius": [round(float(r), 6) for r in radius],
            "predict": clean.tolist()}


def t1_attack_cell(runner, cfg: CertifyConfig, channel: str, snr: float, receiver: str, t_s: int, eps: float,
                   on_images=lambda n: None) -> dict:
    """The T1-smoothed receiver under ``pgd`` (L2, ``eps`` on the [0, 1] scale), crafted through
    the diffusing link with EOT over the sender's noise (:class:`~.image.ImageSmoothedLink`), then
    PREDICT over fresh transmissions of the attacked image."""
    import torch

    from ..attacks import pgd
    from .smoothing import predict

    x, y = runner.data(cfg.seed)
    f = _image_smoothing(runner, channel, snr, receiver, t_s)
    link = f.link()
    gen = runner.gen(cfg.seed, _salt("t1_attack", channel, snr, receiver, t_s, eps))
    after = []
    for start in range(0, len(x), ATTACK_CHUNK):
        sl = slice(start, start + ATTACK_CHUNK)
        x_adv = pgd(link, x[sl], y[sl], eps, norm="l2", steps=cfg.attack_steps, eot=cfg.attack_eot, generator=gen)
        after.append(predict(f, x_adv, f.sigma, cfg.n_predict, cfg.alpha, cfg.batch, gen).prediction)
        on_images(len(after[-1]))
    after, y = torch.cat(after), y.cpu()
    return {"accuracy": float((after == y).float().mean()), "abstain_rate": float((after < 0).float().mean()),
            "predict": after.tolist()}


def image_pgd_cell(runner, cfg: CertifyConfig, channel: str, snr: float, eps: float) -> dict:
    """The undefended link's accuracy under ``pgd`` L2 at ``eps`` (and without attack), one draw."""
    from ..attacks import evaluate, pgd
    from ..symbol_link import SymbolLink

    x, y = runner.data(cfg.seed)
    model = SymbolLink(runner.undefended, snr, channel == "multipath")
    gen = runner.gen(cfg.seed, _salt("image_pgd", channel, snr, eps))
    x_adv = pgd(model, x, y, eps, norm="l2", steps=cfg.attack_steps, generator=gen)
    return {"accuracy": evaluate(model, x_adv, y, None, n=1, generator=gen)["accuracy"],
            "clean_accuracy": evaluate(model, x, y, None, n=1, generator=gen)["accuracy"]}


# --------------------------------------------------------------------------- the kinds

def _nfe(cfg: CertifyConfig, receiver: str) -> int:
    return 1 + (cfg.latent_nfe if receiver == "latent" else 3 * cfg.image_nfe if receiver == "image" else 0)


def _head(cfg: CertifyConfig, cell: tuple, *names) -> dict:
    """A row's leading fields: the kind, the channel, the SNR and the cell's own coordinates."""
    return {"kind": cell[0], "channel": cell[1], "snr_db": cell[2], **dict(zip(names, cell[3:])),
            "num_images": cfg.num_images}


def _certify_fields(runner, cfg, cell, on_images) -> dict:
    receiver = cell[3]
    return {**_head(cfg, cell, "receiver", "sigma"), "n0": cfg.n0, "n": cfg.n, "n_predict": cfg.n_predict,
            "alpha": cfg.alpha, **({"latent_nfe": cfg.latent_nfe} if receiver == "latent" else {}),
            **({"image_step": cfg.image_step, "image_nfe": cfg.image_nfe} if receiver == "image" else {}),
            **certify_cell(runner, cfg, *cell[1:], on_images)}


def _smoothed_air_fields(runner, cfg, cell, on_images) -> dict:
    return {**_head(cfg, cell, "receiver", "sigma", "psr_db"), "steps": cfg.attack_steps, "eot": cfg.attack_eot,
            "n_predict": cfg.n_predict, **smoothed_air_cell(runner, cfg, *cell[1:], on_images)}


def _air_fields(runner, cfg, cell, on_images) -> dict:
    row = {**_head(cfg, cell, "psr_db"), "steps": cfg.air_steps, **air_cell(runner, cfg, *cell[1:])}
    row = {k: row[k] for k in ("kind", "channel", "snr_db", "psr_db", "steps", "num_images", "accuracy",
                               "clean_accuracy")}                 # the field order of earlier rows
    on_images(cfg.num_images)
    return row


def _t1_fields(runner, cfg, cell, on_images) -> dict:
    return {**_head(cfg, cell, "receiver", "t_s"), "n0": cfg.n0, "n": cfg.n, "n_predict": cfg.n_predict,
            "alpha": cfg.alpha, **({"image_nfe": cfg.image_nfe} if cell[3] == "image" else {}),
            **t1_cell(runner, cfg, *cell[1:], on_images)}


def _t1_attack_fields(runner, cfg, cell, on_images) -> dict:
    return {**_head(cfg, cell, "receiver", "t_s", "eps"), "steps": cfg.attack_steps, "eot": cfg.attack_eot,
            "n_predict": cfg.n_predict, **t1_attack_cell(runner, cfg, *cell[1:], on_images)}


def _image_pgd_fields(runner, cfg, cell, on_images) -> dict:
    row = {**_head(cfg, cell, "eps"), "steps": cfg.attack_steps, **image_pgd_cell(runner, cfg, *cell[1:])}
    on_images(cfg.num_images)
    return row


KINDS = {
    "certify": (_certify_fields, lambda cfg, c: cfg.num_images * (cfg.n0 + cfg.n + cfg.n_predict) * _nfe(cfg, c[3])),
    "smoothed_air": (_smoothed_air_fields, lambda cfg, c: cfg.num_images * _nfe(cfg, c[3]) *
                     (3 * cfg.attack_steps * cfg.attack_eot + cfg.n_predict)),
    "air": (_air_fields, lambda cfg, c: 3 * cfg.num_images * cfg.air_steps),
    "t1": (_t1_fields, lambda cfg, c: 2 * cfg.num_images * (cfg.n0 + cfg.n + cfg.n_predict) * _nfe(cfg, c[3])),
    "t1_attack": (_t1_attack_fields, lambda cfg, c: 2 * cfg.num_images * _nfe(cfg, c[3]) *
                  (3 * cfg.attack_steps * cfg.attack_eot + cfg.n_predict)),
    "image_pgd": (_image_pgd_fields, lambda cfg, c: 3 * cfg.num_images * cfg.attack_steps),
}
"""The cell kinds (``cell[0]``): ``(fields(runner, cfg, cell, on_images) -> dict, cost(cfg, cell)
-> float)``, the cost a rough relative one (decoder passes; a backward pass counted as two), for
scheduling on Ray only. A new kind is one entry here (and its cells in :func:`cells`, its spec in
:func:`cell_spec`)."""


def compute_cell(runner, cfg: CertifyConfig, cell: tuple, on_images=lambda n: None) -> dict:
    """One row's computed fields (all but ``key``, ``elapsed_s``, ``weights`` and ``code``, which
    the driver adds), by the cell's kind (:data:`KINDS`); ``on_images(n)`` as images are done.
    The in-process loop and the Ray workers (:mod:`semcom_phy.evaluation.distributed`) both call it."""
    return KINDS[cell[0]][0](runner, cfg, cell, on_images)


def cell_cost(cfg: CertifyConfig, cell: tuple) -> float:
    """A cell's rough relative cost (scheduling only, :data:`KINDS`)."""
    return KINDS[cell[0]][1](cfg, cell)
