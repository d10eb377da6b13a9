"""The denoisers: noise predictors eps(x_t, t) for the latent and the image space.

* :class:`LatentDenoiser`: the symbol vector as real numbers, ``x`` float [B, 2k] (real parts,
  then imaginary parts, times sqrt(2) so each entry has unit variance) -> eps float [B, 2k]. A
  residual MLP with a sinusoidal step embedding (Ho et al. 2020, sec. 4) added in every block.
* :class:`ImageUNet`: 28x28 images in [-1, 1], ``x`` float [B, 1, 28, 28] -> eps, same shape.
  Two resolutions below 28 (14, 7), one residual block per level, skip connections.

Both are small on purpose: they are trained only over the steps purification uses.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
from torch import nn

from ..validation import check_field


def step_embedding(t: torch.Tensor, dim: int, num_train_steps: int) -> torch.Tensor:
    """Sinusoidal embedding of steps t long [B] (-1 allowed) -> float [B, dim] (Vaswani et al.)."""
    half = dim // 2
    freqs = torch.exp(-math.log(10_000.0) * torch.arange(half, device=t.device) / half)
    # steps scaled to 0..1000 whatever the schedule length, so the embedding spans its range
    arg = (t.float()[:, None] + 1) * (1000.0 / num_train_steps) * freqs[None]
    return torch.cat([torch.sin(arg), torch.cos(arg)], dim=-1)


@dataclass(frozen=True)
class LatentDenoiserConfig:
    dim: int = 256              # 2k real entries
    hidden: int = 512
    depth: int = 4
    num_train_steps: int = 1000

    def __post_init__(self):
        check_field(self, "dim", 2, 4096, integer=True)
        check_field(self, "hidden", 16, 8192, integer=True)
        check_field(self, "depth", 1, 32, integer=True)
        check_field(self, "num_train_steps", 2, 100_000, integer=True)


class _ResidualMLP(nn.Module):
    def __init__(self, hidden: int, emb: int):
        super().__init__()
        self.norm = nn.LayerNorm(hidden)
        self.emb = nn.Linear(emb, hidden)
        self.net = nn.Sequential(nn.SiLU(), nn.Linear(hidden, hidden), nn.SiLU(), nn.Linear(hidden, hidden))

    def forward(self, h: torch.Tensor, e: torch.Tensor) -> torch.Tensor:
        return h + self.net(self.norm(h) + self.emb(e))


class LatentDenoiser(nn.Module):
    def __init__(self, cfg: LatentDenoiserConfig = LatentDenoiserConfig()):
        super().__init__()
        self.cfg = cfg
        emb = 128
        self.embed = nn.Sequential(nn.Linear(emb, emb), nn.SiLU(), nn.Linear(emb, emb))
        self.inp = nn.Linear(cfg.dim, cfg.hidden)
        self.blocks = nn.ModuleList(_ResidualMLP(cfg.hidden, emb) for _ in range(cfg.depth))
        self.out = nn.Sequential(nn.LayerNorm(cfg.hidden), nn.SiLU(), nn.Linear(cfg.hidden, cfg.dim))
        nn.init.zeros_(self.out[-1].weight)
        nn.init.zeros_(self.out[-1].bias)

    def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """x float [B, dim], t long [B] -> predicted noise float [B, dim]."""
        e = self.embed(step_embedding(t, 128, self.cfg.num_train_steps))
        h = self.inp(x)
        for block in self.blocks:
            h = block(h, e)
        return self.out(h)


@dataclass(frozen=True)
class ImageUNetConfig:
    channels: int = 32
    num_train_steps: int = 1000

    def __post_init__(self):
        check_field(self, "channels", 8, 256, integer=True)
        check_field(self, "num_train_steps", 2, 100_000, integer=True)


class _ResBlock(nn.Module):
    def __init__(self, cin: int, cout: int, emb: int):
        super().__init__()
        self.n1, self.n2 = nn.GroupNorm(8, cin), nn.GroupNorm(8, cout)
        self.c1, self.c2 = nn.Conv2d(cin, cout, 3, padding=1), nn.Conv2d(cout, cout, 3, padding=1)
        self.emb = nn.Linear(emb, cout)
        self.skip = nn.Identity() if cin == cout else nn.Conv2d(cin, cout, 1)
        self.act = nn.SiLU()

    def forward(self, x: torch.Tensor, e: torch.Tensor) -> torch.Tensor:
        h = self.c1(self.act(self.n1(x))) + self.emb(e)[:, :, None, None]
        return self.skip(x) + self.c2(self.act(self.n2(h)))


class ImageUNet(nn.Module):
    def __init__(self, cfg: ImageUNetConfig = ImageUNetConfig()):
        super().__init__()
        self.cfg = cfg
        c, emb = cfg.channels, 4 * cfg.channels
        self.embed = nn.Sequential(nn.Linear(c, emb), nn.SiLU(), nn.Linear(emb, emb))
        self.inp = nn.Conv2d(1, c, 3, padding=1)
        self.down1 = _ResBlock(c, c, emb)                                   # 28x28
        self.pool1 = nn.Conv2d(c, c, 3, stride=2, padding=1)                # 14x14
        self.down2 = _ResBlock(c, 2 * c, emb)
        self.pool2 = nn.Conv2d(2 * c, 2 * c, 3, stride=2, padding=1)        # 7x7
        self.mid = _ResBlock(2 * c, 2 * c, emb)
        self.up2 = nn.ConvTranspose2d(2 * c, 2 * c, 4, stride=2, padding=1)  # 14x14
        self.dec2 = _ResBlock(4 * c, c, emb)
        self.up1 = nn.ConvTranspose2d(c, c, 4, stride=2, padding=1)          # 28x28
        self.dec1 = _ResBlock(2 * c, c, emb)
        self.out = nn.Sequential(nn.GroupNorm(8, c), nn.SiLU(), nn.Conv2d(c, 1, 3, padding=1))
        nn.init.zeros_(self.out[-1].weight)
        nn.init.zeros_(self.out[-1].bias)

    def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """x float [B, 1, 28, 28] in about [-1, 1], t long [B] -> predicted noise [B, 1, 28, 28]."""
        e = self.embed(step_embedding(t, self.cfg.channels, self.cfg.num_train_steps))
        h1 = self.down1(self.inp(x), e)                                     # [B, c, 28, 28]
        h2 = self.down2(self.pool1(h1), e)                                  # [B, 2c, 14, 14]
        h = self.mid(self.pool2(h2), e)                                     # [B, 2c, 7, 7]
        h = self.dec2(torch.cat([self.up2(h), h2], 1), e)                   # [B, c, 14, 14]
        h = self.dec1(torch.cat([self.up1(h), h1], 1), e)                   # [B, c, 28, 28]
        return self.out(h)


def config_dict(model: nn.Module) -> dict:
    return asdict(model.cfg)
