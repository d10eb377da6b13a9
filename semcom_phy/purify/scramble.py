"""Keyed symbol scrambling: the sender permutes and rotates each image's symbols with a secret key,
the receiver undoes it.

Per image, with a permutation ``perm`` and phases ``theta`` that only the key holders can compute::

    TX (after the encoder and any sender diffusion):  s'[n] = s[perm[n]] exp(j theta[n])
    RX (after equalisation):                          z[perm[n]] = z'[n] exp(-j theta[n])

and ``no_eff`` and the erasure mask follow the permutation. The rotation is unitary and the noise
is i.i.d. over the symbols, so transmit power, SNR and decoding are unchanged; under frequency-
selective fading other symbols of the image fade than without scrambling, and ``no_eff`` tells
the decoder which. What changes is what an air perturbation delta (T2) becomes at the decoder
when it was chosen without the key: entry n lands at the secret place perm[n] with the secret
phase -theta[n]. The attacker still chooses the magnitudes |delta[n]| but not where they land or
in which direction; averaged over keys the perturbation's expected effect on any fixed direction
at the decoder is zero. As Kerckhoffs' principle asks, everything about the link is public except
the key.

``perm`` and ``theta`` come from SHAKE-256 over (key, session, image index) (:meth:`Scrambling.keyed`):
a fresh, unpredictable scrambling for every image of a session. The link uses its run seed as the
session; never reuse a (key, session) pair for traffic an attacker may have observed. The
evaluation draws scramblings at random instead (:meth:`Scrambling.draw`), which is exactly what a
key the attacker does not know looks like to them. Against image attacks (T1) scrambling does
nothing: the perturbation is encoded with the image and unscrambled with it.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass

import numpy as np
import torch

from .config import KEY_BITS

_DOMAIN = b"semcom_phy/scramble/v1"


@dataclass(frozen=True)
class Scrambling:
    """One scrambling per image: ``perm`` long [B, k] (transmitted slot n carries symbol perm[n])
    and ``phase`` complex64 [B, k] of unit modulus."""

    perm: torch.Tensor
    phase: torch.Tensor

    @classmethod
    def keyed(cls, key: int, session: int, first: int, num_images: int, k: int,
              device: str | torch.device = "cpu") -> "Scrambling":
        """The scramblings of images ``first`` .. ``first + num_images - 1`` of a session:
        SHAKE-256(domain, key, session, image index) gives 4k bytes of phases and 4k bytes whose
        ranks are the permutation."""
        if isinstance(key, bool) or not isinstance(key, int) or not 0 <= key < 2 ** KEY_BITS:
            raise ValueError(f"key = {key!r}: must be an integer in [0, 2^{KEY_BITS})")
        for name, v in (("session", session), ("first", first)):
            if isinstance(v, bool) or not isinstance(v, int) or not 0 <= v < 2 ** 64:
                raise ValueError(f"{name} = {v!r}: must be an integer in [0, 2^64)")
        prefix = _DOMAIN + key.to_bytes(KEY_BITS // 8, "little") + session.to_bytes(8, "little")
        words = np.stack([np.frombuffer(hashlib.shake_256(prefix + (first + i).to_bytes(8, "little")).digest(8 * k),
                                        "<u4") for i in range(num_images)]).reshape(num_images, 2, k)
        theta = torch.from_numpy(words[:, 0].astype(np.float64) * (2 * math.pi / 2 ** 32))
        perm = torch.from_numpy(np.argsort(words[:, 1], axis=1, kind="stable"))
        return cls(perm.to(device), torch.polar(torch.ones_like(theta), theta).to(torch.complex64).to(device))

    @classmethod
    def draw(cls, num_images: int, k: int, generator: torch.Generator | None = None,
             device: str | torch.device = "cpu") -> "Scrambling":
        """Uniformly random scramblings from ``generator``: the link as seen by whoever lacks the key."""
        u = torch.rand((num_images, 2, k), generator=generator, device=device)
        theta = (2 * math.pi) * u[:, 0]
        return cls(u[:, 1].argsort(dim=1), torch.polar(torch.ones_like(theta), theta))

    def apply(self, s: torch.Tensor) -> torch.Tensor:
        """The sender: symbols s complex [B, k] -> scrambled symbols, same shape (differentiable)."""
        return torch.gather(s, 1, self.perm.to(s.device)) * self.phase.to(device=s.device, dtype=s.dtype)

    def undo(self, z: torch.Tensor, *per_symbol: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """The receiver: received symbols z complex [B, k] back in the encoder's order, and every
        other per-symbol tensor [B, k] (``no_eff``, the erasure mask) permuted the same way."""
        inv = self.perm.to(z.device).argsort(dim=1)
        z = z * self.phase.to(device=z.device, dtype=z.dtype).conj()
        return tuple(torch.gather(a, 1, inv) for a in (z, *per_symbol))
