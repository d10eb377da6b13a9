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

Mixing (``DefenseConfig.scramble_mode = "mix"``)
------------------------------------------------
The permutation and the rotation keep every symbol's magnitude: an attacker who knows the source
image (hence the clean symbols, the codec being public) and hears the transmission sorts both
sets of magnitudes, pairs them, reads the phases off the pairs and holds the image's scrambling
as if it held the key (:mod:`semcom_phy.attacks.magnitude`). The mixing scrambling is a keyed
unitary per image, two keyed permutation-and-rotation stages around the unitary DFT
``F`` (``F[j, i] = exp(-2 pi j i / k) / sqrt(k)``, any k)::

    U = D2 P2 F D1 P1        TX:  s' = U s        RX:  z = U^H z'
    (P1, P2: secret permutations; D1, D2: secret unit-modulus diagonals)

Every entry of U has magnitude 1/sqrt(k): every transmitted symbol is a secret combination of
all k source symbols (its magnitude says nothing about any one of them, and the attacker who
peels off the public F still faces D2 P2), and an air perturbation lands, after the receiver's
U^H, spread over every symbol of the image with secret weights. U is unitary, so the transmit
power is unchanged and the inverse is exact.

The receiver's noise after the inverse. Transmitted symbol j arrives with noise of variance
v_j (``no_eff``, per slot). The plain inverse U^H gives symbol i the variance
``sum_j |U_ji|^2 v_j = mean(v)``, exact but ruled by the worst slot: a ZF-equalised deep fade
(v_j = N0 / |h_j|^2, unbounded) or a lost symbol (``got`` False: z'_j = 0, the error is the
whole transmitted symbol) would swamp every symbol of the image. So :meth:`Scrambling.undo`
first scales each slot to its LMMSE estimate ``a_j z'_j`` with ``a_j = 1 / (1 + v_j)`` (the
transmitted symbols have unit mean power) and ``a_j = 0`` where the symbol was lost, applies
U^H, and divides by ``c = mean(a)`` so that each symbol is unbiased again (the estimate of
single-carrier frequency-domain MMSE equalisation). Its error, the other symbols' leakage plus
the noise, has per symbol the variance (over unit-power symbols)::

    no_eff_i = (sum_j |U_ji|^2 a_j^2 v_j + (U^H A^2 U)_ii - c^2) / c^2 = 1 / mean(a) - 1

(for a = 1 / (1 + v): a_j^2 v_j = a_j - a_j^2), the same for every symbol of the image: with
equal v_j it is v; otherwise it is at most mean(v) (Jensen), bounded as long as some symbols came
back, and a lost fraction 1 - p of the image's symbols costs ``(1 + v) / p - 1``. The decoder
is noise-aware: it takes this no_eff. Since every symbol of a mixed image carries a share of
every transmitted symbol, the unscrambled ``got`` is the same for all symbols of an image:
True where any of its symbols came back (so an image is blank exactly when nothing of it came
back, as without mixing); an image with none back is all zeros with no_eff the mean of the
slots' (``LOST_NOISE_VAR`` on the link).

Mixing spreads fading and losses over the image where the permutation relocates them: the
decoder no longer knows which symbols are bad, it gets one noise level for all. On the shipped
codec that costs nothing measurable (512 test images: clean accuracy within a point of the
permuting scrambling and of the plain link under multipath, Rayleigh fading and lost frames).
What a unitary cannot hide is a statistic of the whole image (how unevenly its energy spreads
over its symbols shows in the spread of the transmitted magnitudes); nothing per symbol.

The mixing's key stream is SHAKE-256 under its own domain label, independent of the permuting
one: one key may serve both modes without the permute traffic telling anything about the mixed.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass

import numpy as np
import torch

from ..validation import check_choice
from .config import KEY_BITS, SCRAMBLE_MODES as MODES                 # MODES: DefenseConfig.scramble_mode

_DOMAIN = b"semcom_phy/scramble/v1"
_DOMAIN_MIX = b"semcom_phy/scramble/mix/v1"


@dataclass(frozen=True)
class Scrambling:
    """One scrambling per image, of either mode (:data:`MODES`), told apart by the shapes:

    * permute: ``perm`` long [B, k] (transmitted slot n carries symbol perm[n]) and ``phase``
      complex64 [B, k] of unit modulus;
    * mix: ``perm`` long [B, 2, k] and ``phase`` complex64 [B, 2, k], the stages (P1, D1) and
      (P2, D2) of ``U = D2 P2 F D1 P1`` (stage m maps t to ``t[perm[:, m]] * phase[:, m]``).

    Rows are images either way: ``Scrambling(sc.perm[rows], sc.phase[rows])`` is the scrambling
    of those images."""

    perm: torch.Tensor
    phase: torch.Tensor

    def __post_init__(self):
        if self.perm.dim() not in (2, 3) or tuple(self.phase.shape) != tuple(self.perm.shape) or \
                (self.perm.dim() == 3 and self.perm.shape[1] != 2):
            raise ValueError(f"Scrambling: perm {tuple(self.perm.shape)}, phase {tuple(self.phase.shape)}: expected "
                             "both [B, k] (permute) or both [B, 2, k] (mix)")

    @property
    def mode(self) -> str:
        """``"permute"`` or ``"mix"``."""
        return "mix" if self.perm.dim() == 3 else "permute"

    @property
    def num_symbols(self) -> int:
        return int(self.perm.shape[-1])

    @classmethod
    def keyed(cls, key: int, session: int, first: int, num_images: int, k: int,
              device: str | torch.device = "cpu", mode: str = "permute") -> "Scrambling":
        """The scramblings of images ``first`` .. ``first + num_images - 1`` of a session:
        SHAKE-256(domain, key, session, image index) gives 4k bytes of phases and 4k bytes whose
        ranks are the permutation (per stage: mix has two, from its own domain label)."""
        check_choice(mode, "mode", MODES)
        if isinstance(key, bool) or not isinstance(key, int) or not 0 <= key < 2 ** KEY_BITS:
            raise ValueError(f"key = {key!r}: must be an integer in [0, 2^{KEY_BITS})")
        for name, v in (("session", session), ("first", first)):
            if isinstance(v, bool) or not isinstance(v, int) or not 0 <= v < 2 ** 64:
                raise ValueError(f"{name} = {v!r}: must be an integer in [0, 2^64)")
        stages = 2 if mode == "mix" else 1
        domain = _DOMAIN_MIX if mode == "mix" else _DOMAIN
        prefix = domain + key.to_bytes(KEY_BITS // 8, "little") + session.to_bytes(8, "little")
        words = np.stack([np.frombuffer(hashlib.shake_256(prefix + (first + i).to_bytes(8, "little"))
                                        .digest(8 * k * stages), "<u4")
                          for i in range(num_images)]).reshape(num_images, stages, 2, k)
        theta = torch.from_numpy(words[:, :, 0].astype(np.float64) * (2 * math.pi / 2 ** 32))
        perm = torch.from_numpy(np.argsort(words[:, :, 1], axis=-1, kind="stable"))
        phase = torch.polar(torch.ones_like(theta), theta).to(torch.complex64)
        if mode == "permute":
            perm, phase = perm[:, 0], phase[:, 0]
        return cls(perm.to(device), phase.to(device))

    @classmethod
    def draw(cls, num_images: int, k: int, generator: torch.Generator | None = None,
             device: str | torch.device = "cpu", mode: str = "permute") -> "Scrambling":
        """Uniformly random scramblings from ``generator``: the link as seen by whoever lacks the key
        (permute draws [B, 2, k] uniforms, mix [B, 4, k])."""
        check_choice(mode, "mode", MODES)
        if mode == "permute":
            u = torch.rand((num_images, 2, k), generator=generator, device=device)
            theta = (2 * math.pi) * u[:, 0]
            return cls(u[:, 1].argsort(dim=1), torch.polar(torch.ones_like(theta), theta))
        u = torch.rand((num_images, 2, 2, k), generator=generator, device=device)
        theta = (2 * math.pi) * u[:, :, 0]
        return cls(u[:, :, 1].argsort(dim=-1), torch.polar(torch.ones_like(theta), theta))

    # ------------------------------------------------------------------ the transform

    def _stage(self, m: int | None, dev: torch.device, dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor]:
        perm, phase = (self.perm, self.phase) if m is None else (self.perm[:, m], self.phase[:, m])
        return perm.to(dev), phase.to(device=dev, dtype=dtype)

    def apply(self, s: torch.Tensor) -> torch.Tensor:
        """The sender: symbols s complex [B, k] -> scrambled symbols, same shape (differentiable)."""
        if self.mode == "permute":
            perm, phase = self._stage(None, s.device, s.dtype)
            return torch.gather(s, 1, perm) * phase
        for m in (0, 1):
            if m == 1:
                s = torch.fft.fft(s, dim=1, norm="ortho")
            perm, phase = self._stage(m, s.device, s.dtype)
            s = torch.gather(s, 1, perm) * phase
        return s

    def inverse(self, z: torch.Tensor) -> torch.Tensor:
        """The exact inverse of :meth:`apply` (U^H for mix), z complex [B, k] -> [B, k]
        (differentiable; the receiver uses :meth:`undo`, which also weighs the slots by their
        noise)."""
        if self.mode == "permute":
            perm, phase = self._stage(None, z.device, z.dtype)
            return torch.gather(z * phase.conj(), 1, perm.argsort(dim=1))
        for m in (1, 0):
            perm, phase = self._stage(m, z.device, z.dtype)
            z = torch.gather(z * phase.conj(), 1, perm.argsort(dim=1))
            if m == 1:
                z = torch.fft.ifft(z, dim=1, norm="ortho")
        return z

    def matrix(self) -> torch.Tensor:
        """U complex [B, k, k] (``apply(s) = U @ s`` per image), for checks and analysis."""
        b, k = self.perm.shape[0], self.num_symbols
        eye = torch.eye(k, dtype=self.phase.dtype, device=self.phase.device)
        rep = lambda t: t.repeat_interleave(k, dim=0)                     # noqa: E731  image b, column i
        cols = Scrambling(rep(self.perm), rep(self.phase)).apply(eye.repeat(b, 1))   # row b k + i: U_b e_i
        return cols.reshape(b, k, k).transpose(1, 2)

    def undo(self, z: torch.Tensor, *per_symbol: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """The receiver: received symbols z complex [B, k] back in the encoder's order, and the
        per-symbol tensors [B, k] with them.

        permute: every other tensor (``no_eff``, the erasure mask) permuted the same way.
        mix: ``undo(z)`` is the plain inverse U^H z; ``undo(z, no_eff)`` and
        ``undo(z, no_eff, got)`` the noise-weighted inverse of the module doc, returning
        (z, no_eff, [got]) with no_eff ``1 / mean(a) - 1`` and got "any symbol of the image came
        back", both the same for every symbol of an image. Differentiable in z."""
        if self.mode == "permute":
            inv = self.perm.to(z.device).argsort(dim=1)
            z = z * self.phase.to(device=z.device, dtype=z.dtype).conj()
            return tuple(torch.gather(a, 1, inv) for a in (z, *per_symbol))
        if not per_symbol:
            return (self.inverse(z),)
        if len(per_symbol) > 2:
            raise ValueError(f"Scrambling.undo (mix): z, no_eff and got at most, got {1 + len(per_symbol)} tensors")
        no_eff, got = per_symbol[0], (per_symbol[1] if len(per_symbol) == 2 else None)
        v = no_eff.to(z.device)
        a = 1.0 / (1.0 + v.clamp_min(0))                                   # LMMSE weight of each slot
        if got is not None:
            got = got.to(z.device).bool()
            a = torch.where(got, a, torch.zeros_like(a))
        c = a.mean(1, keepdim=True)                                        # [B, 1]
        some = c > 0
        c_safe = torch.where(some, c, torch.ones_like(c))
        z = self.inverse(z * a.to(z.dtype)) / c_safe.to(z.dtype)
        v_out = torch.where(some, 1.0 / c_safe - 1.0, v.mean(1, keepdim=True)).to(no_eff.dtype)
        out = (z, v_out.expand_as(no_eff).contiguous())
        if got is not None:
            out += (got.any(1, keepdim=True).expand_as(got).contiguous(),)
        return out
