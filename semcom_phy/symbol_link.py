"""The differentiable symbol-level link: the model the attacks target.

:class:`SymbolLink` chains, with gradients through every stage, the two ends of the link
(:mod:`semcom_phy.endpoints`, the same ones :class:`~semcom_phy.link.Link` runs) around
the symbol channel::

    images x -> Sender (defense sender: sender diffusion, encode; scrambling) -> symbols s [B, k]
             -> s + delta_air -> channel (symbol_channel: AWGN or Rayleigh, ZF-equalised, at snr_db)
             -> Receiver (unscrambling, purification, decode, classify) -> (x_hat, scores)

Where the air perturbation enters: OFDM modulation with a unitary FFT is linear, so a
perturbation placed on the data resource elements of the payload is exactly this symbol-domain
``delta_air`` (same norm, Parseval). It is added to the transmitted symbols and passes through the
same channel as the signal (for AWGN that is the same as adding it at the receiver). The
receiver estimates its noise from the preamble, which the perturbation does not touch, so the
``no_eff`` the defense and the decoder get comes from the channel alone: the receiver has no
side information about the attack.

A scrambling defense (``DefenseConfig.scramble``) draws every image's scrambling at random on
every call (:meth:`~semcom_phy.purify.Scrambling.draw`): the attacker does not hold the key, so
to them the key is a random variable, and EOT over these draws is EOT over keys. A fixed-noise
generator fixes the scrambling too: the attacker who knows the key.

PSR (docs/conventions.md section 2): ``10 log10(||delta||^2 / ||s||^2)`` per example. The transmitted symbols
have unit power per symbol, so ``||s||^2 = k`` and a PSR budget is the absolute energy
``||delta||^2 <= k 10^(psr / 10)`` (Sadeghi & Larsson 2019, "Physical adversarial attacks against
end-to-end autoencoder communication systems", IEEE Commun. Lett.); the budget helpers are
:mod:`semcom_phy.attacks.model`.
"""

from __future__ import annotations

import math

import torch

from .endpoints import Receiver, Sender
from .purify import Defense, Scrambling
from .semantic import symbol_channel

__all__ = ["SymbolLink"]


class SymbolLink:
    """The link as one differentiable function of the images and the air perturbation.

    images -> Sender -> symbols s [B, k] -> s + delta_air -> channel noise (symbol_channel at
    snr_db, AWGN or Rayleigh per symbol) -> Receiver -> (x_hat, scores).

    Parameters
    ----------
    defense : Defense
        The :class:`~semcom_phy.purify.Defense` (its models are used as they are: put them in eval
        mode before attacking; nothing here changes ``.train()`` state)
    snr_db : float
        Channel Es/N0 in dB per data resource element (finite)
    fading : bool
        Rayleigh fading per symbol (ZF-equalised, as :func:`~semcom_phy.semantic.symbol_channel`)
        instead of AWGN

    Randomness: every call draws, in this order, the sender's diffusion noise, the scrambling (if
    the defense scrambles), the channel (fading and noise) and the reverse process's noise from
    ``generator`` (None: torch's default
    generator, not reproducible). A fixed-noise model is obtained by passing a freshly seeded
    generator to every call, e.g. ``torch.Generator(model.device).manual_seed(seed)``; the draws
    then depend on the batch size, so a fixed-noise attack and its evaluation must use the same
    batch.
    """

    def __init__(self, defense: Defense, snr_db: float, fading: bool = False):
        if not isinstance(defense, Defense):
            raise ValueError(f"defense = {type(defense).__name__}: must be a semcom_phy.purify.Defense")
        if isinstance(snr_db, bool) or not isinstance(snr_db, (int, float)) or not math.isfinite(snr_db):
            raise ValueError(f"snr_db = {snr_db!r}: must be a finite number (dB)")
        if not isinstance(fading, bool):
            raise ValueError(f"fading = {fading!r}: must be True (Rayleigh) or False (AWGN)")
        self.defense, self.snr_db, self.fading = defense, float(snr_db), fading
        self.sender, self.receiver = Sender(defense), Receiver(defense)

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(defense={self.defense.cfg.defense!r}, snr_db={self.snr_db:g}, "
                f"fading={self.fading}, num_symbols={self.num_symbols}, votes={self.votes})")

    @property
    def num_symbols(self) -> int:
        """k, complex symbols per image."""
        return int(self.defense.codec.cfg.num_symbols)

    @property
    def votes(self) -> int:
        """Classifications per image in one pass (:attr:`~semcom_phy.purify.Defense.votes`: a
        smoothed defense's :meth:`~semcom_phy.purify.Defense.single_vote` copy makes one)."""
        return self.defense.votes

    @property
    def device(self) -> torch.device:
        return next(self.defense.codec.parameters()).device

    def _check_generator(self, generator: torch.Generator | None) -> None:
        if generator is None:
            return
        if not isinstance(generator, torch.Generator):
            raise ValueError(f"generator = {generator!r}: must be a torch.Generator or None")
        if generator.device.type != self.device.type:
            raise ValueError(f"generator on {generator.device}, the model on {self.device}: pass "
                             f"torch.Generator(device={str(self.device)!r})")

    def transmit(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """The defense's sender: images x float [B, 1, 28, 28] in [0, 1] -> symbols complex [B, k],
        unit power per symbol, before scrambling (draws the sender's diffusion noise, if any, from
        generator)."""
        self._check_generator(generator)
        return self.sender.encode(x, generator)

    def scrambling_of(self, s: torch.Tensor, generator: torch.Generator | None) -> Scrambling | None:
        """The scrambling of one pass over the symbols s complex [B, k]: a fresh draw when the
        defense scrambles (the attacker does not know the key), else None."""
        d = self.defense.cfg
        return Scrambling.draw(*s.shape, generator, s.device, d.scramble_mode) if d.scramble else None

    def __call__(self, x: torch.Tensor, delta_air: torch.Tensor | None = None,
                 generator: torch.Generator | None = None, bpda: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
        """Run the link.

        Input
        -----
        x : float [B, 1, 28, 28]
            Images in [0, 1], on ``self.device``
        delta_air : complex [B, k] (per example) or [k] (universal, broadcast over the batch) | None
            Added to the transmitted (scrambled) symbols; None: no perturbation
        generator : torch.Generator | None
            The source of all randomness of this pass (sender, scrambling, channel, reverse process)
        bpda : bool
            The purification's backward pass is the identity (Athalye et al. 2018, BPDA); the
            forward values are the same

        Output
        ------
        x_hat : float [B, 1, 28, 28]
        scores : float [B, 10], logits when votes == 1
        """
        s = self.transmit(x, generator)
        scrambling = self.scrambling_of(s, generator)
        s = self.sender.transmit(s, scrambling, delta_air)
        b = len(s)
        snr = torch.full((b,), self.snr_db, device=s.device)
        fading = torch.full((b,), self.fading, dtype=torch.bool, device=s.device)
        z_hat, no_eff = symbol_channel(s, snr, fading, generator)
        r = self.receiver(z_hat, no_eff, scrambling, generator=generator, bpda=bpda)
        return r.x_hat, r.scores
