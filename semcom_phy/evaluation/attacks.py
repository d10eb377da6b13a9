"""The evaluation's attacks, one registry entry each (``ATTACKS``: name -> function of a
:class:`Cell`). An entry crafts what the attack sends (adversarial images and/or an air
perturbation) and scores it with :meth:`Cell.score`, or returns its own row (``clean``, the
fixed-draw attacks). Every random draw comes from ``cell.gen(salt)``, a generator of the seed and
a salt fixed per entry, so a cell's numbers depend on nothing but its own spec.

To add an attack: write ``@register("name")`` over a function of a :class:`Cell`, and add the
name to ``T1`` or ``T2`` of :mod:`semcom_phy.evaluation.config` (the names a config may use).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .config import ATTACKS as NAMES

ATTACKS: dict[str, Callable[[Cell], dict]] = {}


def register(name: str):
    def add(fn):
        ATTACKS[name] = fn
        return fn
    return add


@dataclass
class Cell:
    """One seed of one cell, as its attack sees it.

    runner : the :class:`~semcom_phy.evaluation.runner.Runner` (models, data, transfer cache)
    model : the defended link (a ``SymbolLink``, or the digital baseline's model); target : what
        gradients go through (a K-vote defense's one-vote pipeline)
    x, y : the seed's images float [B, 1, 28, 28] and labels long [B]
    """

    runner: object
    channel: str
    snr: float
    fading: bool
    digital: bool
    model: object
    target: object
    x: object
    y: object
    attack: dict
    budget: float | None
    seed: int

    @property
    def name(self) -> str:
        return self.attack["attack"]

    @property
    def steps(self) -> int:
        return self.attack.get("steps", 10)

    @property
    def eot(self) -> int:
        return self.attack.get("eot", 1)

    def gen(self, salt: int):
        return self.runner.gen(self.seed, salt)

    def undefended(self):
        """The undefended link at this cell's channel: what transfer attacks are crafted on."""
        from ..symbol_link import SymbolLink
        return SymbolLink(self.runner.undefended, self.snr, self.fading)

    def transfer(self, kind: str, craft: Callable[[], object]):
        """A non-adaptive attack's output, crafted once and shared by every defense."""
        key = (self.channel, self.snr, kind, self.budget, self.seed, self.steps, len(self.x))
        cache = self.runner._transfer
        if key not in cache:
            cache[key] = craft()
        return cache[key]

    def score(self, x_adv=None, delta=None) -> dict:
        """Accuracy and worst-of-N of what the attack sends, over the config's draws; at budget 0
        also the clean accuracy on the same images and draws (the sanity check's reference)."""
        from ..attacks import evaluate

        cfg = self.runner.cfg
        x_adv = self.x if x_adv is None else x_adv
        out = evaluate(self.model, x_adv, self.y, delta_air=delta, n=cfg.worst_of_n, generator=self.gen(2),
                       batch_size=cfg.batch_size)
        row = {"accuracy": out["accuracy"], "worst_of_n": out["worst_of_n"]}
        if self.budget == 0:
            row["clean_accuracy"] = evaluate(self.model, self.x, self.y, n=cfg.worst_of_n, generator=self.gen(2),
                                             batch_size=cfg.batch_size)["accuracy"]
        return row

    def score_fixed(self, x_adv=None, delta=None) -> dict:
        """Scored on the one fixed draw the attack was crafted against."""
        import torch

        from ..attacks import evaluate

        x_adv = self.x if x_adv is None else x_adv
        out = evaluate(self.model, x_adv, self.y, delta_air=delta, n=1,
                       generator=torch.Generator(self.runner.device).manual_seed(fixed_seed(self.seed)),
                       batch_size=len(self.x))
        return {"accuracy": out["accuracy"], "worst_of_n": out["worst_of_n"]}


def fixed_seed(seed: int) -> int:
    """The one draw of the link's randomness the fixed-draw attacks are crafted and scored on."""
    return seed * 7919 + 11


@register("clean")
def clean(c: Cell) -> dict:
    import torch

    from ..attacks import evaluate
    from ..metrics import psnr_db, ssim

    cfg = c.runner.cfg
    t0 = time.perf_counter()
    with torch.no_grad():
        x_hat, _ = c.model(c.x, generator=c.gen(1))
    ms = 1e3 * (time.perf_counter() - t0) / len(c.x)
    out = evaluate(c.model, c.x, c.y, n=cfg.worst_of_n, generator=c.gen(2), batch_size=cfg.batch_size)
    return {"accuracy": out["accuracy"], "worst_of_n": out["worst_of_n"], "ms_per_image": ms,
            "psnr_db": float(psnr_db(x_hat, c.x).mean()), "ssim": float(ssim(x_hat, c.x).mean())}


@register("noise")
def noise(c: Cell) -> dict:
    import torch

    signs = torch.randint(0, 2, c.x.shape, generator=c.gen(3), device=c.runner.device) * 2 - 1
    return c.score(x_adv=(c.x + c.budget * signs).clamp(0, 1))


@register("pgd")
def pgd_transfer(c: Cell) -> dict:
    from ..attacks import pgd
    return c.score(x_adv=c.transfer("pgd", lambda: pgd(c.undefended(), c.x, c.y, c.budget, steps=c.steps,
                                                        generator=c.gen(4))))


@register("pgd_adaptive")
@register("pgd_bpda")
def pgd_adaptive(c: Cell) -> dict:
    from ..attacks import pgd
    return c.score(x_adv=pgd(c.target, c.x, c.y, c.budget, steps=c.steps, eot=c.eot, generator=c.gen(5),
                             bpda=c.name == "pgd_bpda"))


@register("pgd_fixed")
def pgd_fixed(c: Cell) -> dict:
    from ..attacks import pgd
    return c.score_fixed(x_adv=pgd(c.target, c.x, c.y, c.budget, steps=c.steps, generator=c.gen(6),
                                   fixed_noise_seed=fixed_seed(c.seed)))


def _digital_air(c: Cell) -> dict:
    """The digital baseline's air attacks: Gaussian jamming, or the bit-burst attack on its packets
    (``universal``: blind)."""
    from ..digital import burst_air, jamming
    delta = jamming(c.model, c.x, c.budget, c.gen(7)) if c.name == "jamming" else \
        burst_air(c.model, c.x, c.budget, universal=c.name == "universal")
    return c.score(delta=delta)


@register("jamming")
def jamming(c: Cell) -> dict:
    from ..attacks import gaussian_jamming
    if c.digital:
        return _digital_air(c)
    return c.score(delta=gaussian_jamming((len(c.x), c.model.num_symbols), c.budget, c.gen(7), c.runner.device))


@register("air")
def air_transfer(c: Cell) -> dict:
    from ..attacks import pgd_air
    if c.digital:
        return _digital_air(c)
    return c.score(delta=c.transfer("air", lambda: pgd_air(c.undefended(), c.x, c.y, c.budget, steps=c.steps,
                                                            generator=c.gen(8))))


@register("air_adaptive")
def air_adaptive(c: Cell) -> dict:
    from ..attacks import pgd_air
    if c.digital:
        return _digital_air(c)
    return c.score(delta=pgd_air(c.target, c.x, c.y, c.budget, steps=c.steps, eot=c.eot, generator=c.gen(9)))


@register("air_fixed")
def air_fixed(c: Cell) -> dict:
    from ..attacks import pgd_air
    if c.digital:
        return _digital_air(c)
    return c.score_fixed(delta=pgd_air(c.target, c.x, c.y, c.budget, steps=c.steps, generator=c.gen(11),
                                       fixed_noise_seed=fixed_seed(c.seed)))


@register("magnitude_match")
def magnitude_match(c: Cell) -> dict:
    """The known-plaintext attacker of :mod:`semcom_phy.attacks.magnitude`: it knows the source
    images, hears the transmission of the fixed draw (``obs_snr_db``: None, clean; else its
    SNR), recovers each image's scrambling by matching magnitudes, crafts the per-image air attack
    (``steps``, ``eot``) as if that were the key, and is scored on the draw it heard. Without
    scrambling it holds the link as it is. The row adds ``matched``: the fraction of slots whose
    source symbol the matching got right (permuting scrambling; -1 where there is none to match)."""
    import torch

    from ..attacks import pgd_air
    from ..attacks.magnitude import KnownScramblingLink, match_magnitudes, matched_fraction, observe
    from ..purify import Scrambling

    if c.digital:
        return _digital_air(c)
    d = c.target.defense.cfg
    g = torch.Generator(c.runner.device).manual_seed(fixed_seed(c.seed))       # the draw score_fixed replays:
    with torch.no_grad():
        s = c.model.transmit(c.x, g)                                           # as SymbolLink draws it, the
        sc = Scrambling.draw(*s.shape, g, s.device, d.scramble_mode) if d.scramble else None   # scrambling next
        heard = observe(c.model.sender.transmit(s, sc), c.attack.get("obs_snr_db"), c.gen(12))
        mine = c.target.transmit(c.x, c.gen(13))                               # the attacker's own encoding
    guess = None if sc is None else match_magnitudes(mine, heard)
    model = KnownScramblingLink(c.target.defense, c.snr, c.fading, guess)
    delta = pgd_air(model, c.x, c.y, c.budget, steps=c.steps, eot=c.eot, generator=c.gen(14))
    row = c.score_fixed(delta=delta)
    row["matched"] = matched_fraction(guess, sc) if sc is not None and sc.mode == "permute" else -1.0
    return row


@register("universal")
def universal(c: Cell) -> dict:
    import torch

    from ..attacks import universal_air
    if c.digital:
        return _digital_air(c)
    r = c.runner
    pick = torch.from_numpy(np.random.default_rng(c.seed + 1).choice(len(r.train_x), r.cfg.universal_train_images,
                                                                     replace=False))
    return c.score(delta=universal_air(c.target, r.train_x[pick], r.train_y[pick], c.budget,
                                       epochs=c.attack.get("epochs", 2), eot=c.eot, generator=c.gen(10)))


assert set(ATTACKS) == set(NAMES), "every attack of the config has an entry, and only those"
