"""The two ends of the semantic link, written once for the OFDM link and the symbol-level model.

::

    Sender:    images x -> defense sender (sender diffusion, encoder) -> symbols s [B, k]
                        -> scrambling (keyed or drawn; none without one) -> + delta_air -> on the air
    Receiver:  equalised symbols z_hat, no_eff [B, k] -> unscrambling -> defense receiver
                        (purification, decoder, classifier) -> images none of whose symbols came back blanked

What lies between them is the channel: the OFDM PHY and a transport in
:class:`~semcom_phy.link.Link`, :func:`~semcom_phy.semantic.symbol_channel` in
:class:`~semcom_phy.symbol_link.SymbolLink`. Both ends work with and without gradients (they
add no ``no_grad``); they draw random numbers only through the defense (the sender's diffusion
noise, the reverse process's noise), from the generator the caller passes.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from .purify import Defense, Scrambling

__all__ = ["Received", "Receiver", "Sender"]


class Sender:
    """The sending end of a :class:`~semcom_phy.purify.Defense`.

    Parameters
    ----------
    defense : Defense
        Its :meth:`~semcom_phy.purify.Defense.encode` (sender diffusion, if any, and the encoder).

    Input (``__call__``)
    --------------------
    x : float [B, 1, 28, 28]
        Images in [0, 1], on the defense's device.
    scrambling : Scrambling | None
        Each image's scrambling (``perm`` long [B, k], ``phase`` complex64 [B, k]); None: none.
    delta_air : complex [B, k] or [k] | None
        The air perturbation added to the transmitted symbols ([k]: the same for every image).
    generator : torch.Generator | None
        The sender's diffusion noise.

    Output
    ------
    complex64 [B, k]
        What goes on the air: the symbols (unit power per symbol) scrambled, plus ``delta_air``.
    """

    def __init__(self, defense: Defense):
        self.defense = defense

    def encode(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """Images x float [B, 1, 28, 28] -> the defense's symbols s complex64 [B, k], unit power per
        symbol, before scrambling (draws the sender's diffusion noise, if any, from generator)."""
        if x.dim() != 4 or x.shape[1:] != (1, 28, 28):
            raise ValueError(f"x: shape {tuple(x.shape)}, expected [B, 1, 28, 28]")
        return self.defense.encode(x, generator)

    @staticmethod
    def transmit(s: torch.Tensor, scrambling: Scrambling | None = None,
                 delta_air: torch.Tensor | None = None) -> torch.Tensor:
        """The steps after the encoder: symbols s complex [B, k] -> scrambled (``scrambling``:
        its :meth:`~semcom_phy.purify.Scrambling.apply`; None: as they are) -> + ``delta_air``
        (complex [B, k] or [k], moved to s's device and dtype) -> complex [B, k], s's dtype."""
        if scrambling is not None:
            s = scrambling.apply(s)
        if delta_air is None:
            return s
        delta_air = torch.as_tensor(delta_air)
        b, k = s.shape
        if not torch.is_complex(delta_air):
            raise ValueError(f"delta_air: dtype {delta_air.dtype}, expected complex")
        if tuple(delta_air.shape) not in ((b, k), (k,)):
            raise ValueError(f"delta_air: shape {tuple(delta_air.shape)}, expected [{b}, {k}] or [{k}]")
        return s + delta_air.to(device=s.device, dtype=s.dtype)

    def __call__(self, x: torch.Tensor, scrambling: Scrambling | None = None, delta_air: torch.Tensor | None = None,
                 generator: torch.Generator | None = None) -> torch.Tensor:
        return self.transmit(self.encode(x, generator), scrambling, delta_air)


@dataclass
class Received:
    """What the receiving end made of one batch.

    x_hat : float [B, 1, 28, 28], blank (0) where an image is lost
    scores : float [B, 10], logits (vote counts plus mean probability / 2 when ``votes`` > 1; the
        smoothed receiver's PREDICT counts, :meth:`~semcom_phy.purify.Defense.predictions` reads them)
    z_hat : complex [B, k]; no_eff : float [B, k]; got : bool [B, k] or None: the received
        symbols, their noise variances and which came back, unscrambled (the encoder's order), on
        the device they came in on
    """

    x_hat: torch.Tensor
    scores: torch.Tensor
    z_hat: torch.Tensor
    no_eff: torch.Tensor
    got: torch.Tensor | None


class Receiver:
    """The receiving end of a :class:`~semcom_phy.purify.Defense`.

    Parameters
    ----------
    defense : Defense
        Its :meth:`~semcom_phy.purify.Defense.decode` (purification, if any, decoder, classifier);
        the link's is :meth:`~semcom_phy.purify.Defense.for_inference`.
    device : torch.device | None
        Where the defense's models run: the symbols move there after unscrambling; None: they
        stay where they are.

    Input (``__call__``)
    --------------------
    z_hat : complex [B, k]
        The equalised symbols, in the transmitted (scrambled) order.
    no_eff : float [B, k]
        Their effective noise variances.
    scrambling : Scrambling | None
        The scrambling the sender applied (its :meth:`~semcom_phy.purify.Scrambling.undo` is
        applied to z_hat, no_eff and got); None: none.
    got : bool [B, k] | None
        Which symbols came back; images with none are reconstructed blank. None: all did.
    generator : torch.Generator | None
        The reverse process's noise.
    bpda : bool
        The purification's backward pass is the identity (BPDA); the forward values are the same.

    Output
    ------
    :class:`Received`
    """

    def __init__(self, defense: Defense, device: torch.device | str | None = None):
        self.defense, self.device = defense, device

    def __call__(self, z_hat: torch.Tensor, no_eff: torch.Tensor, scrambling: Scrambling | None = None,
                 got: torch.Tensor | None = None, generator: torch.Generator | None = None,
                 bpda: bool = False) -> Received:
        if scrambling is not None:
            z_hat, no_eff, *rest = scrambling.undo(z_hat, no_eff, *(() if got is None else (got,)))
            got = rest[0] if rest else None
        dev = z_hat.device if self.device is None else self.device
        x_hat, scores = self.defense.decode(z_hat.to(dev), no_eff.to(dev), generator, bpda=bpda)
        if got is not None:
            x_hat = x_hat.masked_fill(~got.any(1).to(x_hat.device)[:, None, None, None], 0.0)   # lost: blank
        return Received(x_hat, scores, z_hat, no_eff, got)
