"""The differentiable link model that the attacks target, and the PSR budget helpers.

:class:`LinkModel` chains, with gradients through every stage::

    images x -> defense sender (encode, sender diffusion[, scrambling]) -> symbols s [B, k]
             -> s + delta_air -> channel (symbol_channel: AWGN or Rayleigh, ZF-equalised, at snr_db)
             -> defense receiver ([unscrambling,] purification, decode, classify) -> (x_hat, scores)

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
end-to-end autoencoder communication systems", IEEE Commun. Lett.).
"""

from __future__ import annotations

import math

import torch

from ..purify import Defense, Scrambling
from ..semantic import symbol_channel

__all__ = ["LinkModel", "psr_db", "psr_radius", "scale_to_psr"]


def _check_psr(psr_db: float, name: str = "psr_db") -> float:
    """A PSR budget in dB: a real number or -inf (no perturbation), not NaN or +inf."""
    if isinstance(psr_db, bool) or not isinstance(psr_db, (int, float)):
        raise ValueError(f"{name} = {psr_db!r}: must be a number in dB ([-inf, inf), -inf: no perturbation)")
    psr_db = float(psr_db)
    if math.isnan(psr_db) or psr_db == math.inf:
        raise ValueError(f"{name} = {psr_db!r} is out of range: allowed [-inf, inf) dB")
    return psr_db


def psr_radius(psr_db: float, num_symbols: int) -> float:
    """The L2 radius ``sqrt(k 10^(psr / 10))`` of a PSR budget for unit-power symbols (0 at -inf dB)."""
    psr_db = _check_psr(psr_db)
    if isinstance(num_symbols, bool) or not isinstance(num_symbols, int) or num_symbols < 1:
        raise ValueError(f"num_symbols = {num_symbols!r}: must be an integer >= 1")
    return math.sqrt(num_symbols * 10.0 ** (psr_db / 10.0))


def psr_db(delta: torch.Tensor, s: torch.Tensor | None = None) -> torch.Tensor:
    """Perturbation-to-signal ratio per example, ``10 log10(||delta||^2 / ||s||^2)`` (docs/conventions.md section 2).

    delta : complex [B, k] (per example) or [k] (universal, broadcast against s)
    s : complex [B, k] or [k], the transmitted symbols; None: unit-power symbols, ``||s||^2 = k``
    returns float32 [B] (or a 0-d tensor when both are 1-d); -inf where delta is zero.
    """
    if delta.dim() not in (1, 2):
        raise ValueError(f"delta: shape {tuple(delta.shape)}, expected [B, k] or [k]")
    energy = delta.abs().pow(2).sum(-1)
    if s is None:
        ref = torch.full_like(energy, float(delta.shape[-1]))
    else:
        if s.shape[-1] != delta.shape[-1]:
            raise ValueError(f"s: {s.shape[-1]} symbols per example, delta has {delta.shape[-1]}")
        ref = s.abs().pow(2).sum(-1).to(energy.device)
    return (10.0 * torch.log10(energy / ref)).float()


def scale_to_psr(delta: torch.Tensor, psr_db: float, num_symbols: int | None = None,
                 project: bool = False) -> torch.Tensor:
    """Scale each example of delta to the energy ``k 10^(psr / 10)`` of a PSR budget.

    delta : complex or real [B, k] or [k] (a real tensor is the real representation, its last axis
        holding all 2k real parts; the norm is the same either way)
    psr_db : the budget in dB; -inf gives zeros
    num_symbols : k, the symbols per example the budget refers to (default: ``delta.shape[-1]``,
        right for complex delta; pass k for the real representation)
    project : False: scale every example exactly onto the sphere of the budget (zero rows stay
        zero); True: the Euclidean projection onto the ball, only examples above the budget shrink.
    returns a new tensor, same shape and dtype as delta.
    """
    if delta.dim() not in (1, 2):
        raise ValueError(f"delta: shape {tuple(delta.shape)}, expected [B, k] or [k]")
    radius = psr_radius(psr_db, int(num_symbols if num_symbols is not None else delta.shape[-1]))
    norm = torch.linalg.vector_norm(delta, dim=-1, keepdim=True)
    if project:
        factor = torch.clamp(radius / norm.clamp_min(1e-30), max=1.0)
    else:
        factor = radius / norm.clamp_min(1e-30)
    return delta * factor


class LinkModel:
    """The link as one differentiable function of the images and the air perturbation.

    images -> defense sender -> symbols s [B, k] -> s + delta_air -> channel noise (symbol_channel
    at snr_db, AWGN or Rayleigh per symbol) -> defense receiver -> (x_hat, scores).

    defense : the :class:`~semcom_phy.purify.Defense` (its models are used as they are: put them
        in eval mode before attacking; nothing here changes ``.train()`` state)
    snr_db : channel Es/N0 in dB per data resource element (finite)
    fading : Rayleigh fading per symbol (ZF-equalised, as :func:`~semcom_phy.semantic.symbol_channel`)
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

    def __repr__(self) -> str:
        return (f"LinkModel(defense={self.defense.cfg.defense!r}, snr_db={self.snr_db:g}, fading={self.fading}, "
                f"num_symbols={self.num_symbols}, votes={self.votes})")

    @property
    def num_symbols(self) -> int:
        """k, complex symbols per image."""
        return int(self.defense.codec.cfg.num_symbols)

    @property
    def votes(self) -> int:
        return int(self.defense.cfg.votes)

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
        unit power per symbol (draws the sender's diffusion noise, if any, from generator)."""
        self._check_generator(generator)
        return self.defense.encode(x, generator)

    def __call__(self, x: torch.Tensor, delta_air: torch.Tensor | None = None,
                 generator: torch.Generator | None = None, bpda: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
        """Run the link.

        x : float [B, 1, 28, 28] in [0, 1], on ``self.device``
        delta_air : complex [B, k] (per example) or [k] (universal, broadcast over the batch), added
            to the transmitted symbols; None: no perturbation
        generator : the source of all randomness of this pass (sender, channel, reverse process)
        bpda : the purification's backward pass is the identity (Athalye et al. 2018, BPDA); the
            forward values are the same
        returns (x_hat float [B, 1, 28, 28], scores float [B, 10]: logits when votes == 1)
        """
        if x.dim() != 4 or x.shape[1:] != (1, 28, 28):
            raise ValueError(f"x: shape {tuple(x.shape)}, expected [B, 1, 28, 28]")
        s = self.transmit(x, generator)
        b, k = s.shape
        scrambling = Scrambling.draw(b, k, generator, s.device) if self.defense.cfg.scramble else None
        if scrambling is not None:
            s = scrambling.apply(s)
        if delta_air is not None:
            if not torch.is_complex(delta_air):
                raise ValueError(f"delta_air: dtype {delta_air.dtype}, expected complex")
            if tuple(delta_air.shape) not in ((b, k), (k,)):
                raise ValueError(f"delta_air: shape {tuple(delta_air.shape)}, expected [{b}, {k}] or [{k}]")
            s = s + delta_air.to(device=s.device, dtype=s.dtype)
        snr = torch.full((b,), self.snr_db, device=s.device)
        fading = torch.full((b,), self.fading, dtype=torch.bool, device=s.device)
        z_hat, no_eff = symbol_channel(s, snr, fading, generator)
        if scrambling is not None:
            z_hat, no_eff = scrambling.undo(z_hat, no_eff)
        return self.defense.decode(z_hat, no_eff, generator, bpda=bpda)
