"""Deep joint source-channel coding (JSCC) for 28x28 images, and the classifier.

* :class:`Encoder`: image ``x`` float [B, 1, 28, 28] in [0, 1] -> ``z`` complex64 [B, k] with
  unit mean power per image (``mean |z|^2 = 1``, :func:`normalize_power`).
* :class:`Decoder`: equalised symbols ``z_hat`` complex [B, k] and their effective noise
  variance ``no_eff`` float [B, k] (the receiver's ``no_eff``) -> image [B, 1, 28, 28]. The noise
  variance enters as ``log10(no_eff)`` per symbol and scales each symbol to its LMMSE estimate
  ``z_hat / (1 + no_eff)``, so one decoder serves every SNR and deep fades cannot blow up its
  input.
* :class:`Classifier`: image -> logits [B, 10] (Fashion-MNIST classes), applied to the
  reconstructed image.
* :func:`symbol_channel`: the channel as the decoder sees it after ZF equalisation, used to train
  with the channel in the loop: ``z_hat = z + n``, ``n ~ CN(0, N0 / |h|^2)``, ``h = 1`` (AWGN) or
  ``h ~ CN(0, 1)`` per symbol (Rayleigh, frequency selective).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from ..validation import check_field

NOISE_LOG10_RANGE = (-4.0, 1.0)   # log10(no_eff) is clipped to this range at the decoder input


@dataclass(frozen=True)
class CodecConfig:
    """``num_symbols`` = k complex channel uses per 784-pixel image (k/n = num_symbols / 784)."""

    num_symbols: int = 128
    channels: int = 48

    def __post_init__(self):
        check_field(self, "num_symbols", 8, 784, integer=True)
        check_field(self, "channels", 4, 256, integer=True)

    @property
    def bandwidth_ratio(self) -> float:
        return self.num_symbols / 784


def normalize_power(z: torch.Tensor) -> torch.Tensor:
    """Scale each row of complex ``z`` [B, k] to mean power 1: ``z * sqrt(k) / ||z||``."""
    k = z.shape[-1]
    norm = torch.linalg.vector_norm(z, dim=-1, keepdim=True).clamp_min(1e-12)
    return z * (k ** 0.5) / norm


def _act(ch: int) -> nn.Module:
    return nn.PReLU(ch)


class Encoder(nn.Module):
    def __init__(self, cfg: CodecConfig):
        super().__init__()
        c = cfg.channels
        self.net = nn.Sequential(
            nn.Conv2d(1, c // 2, 3, padding=1), _act(c // 2),                 # 28x28
            nn.Conv2d(c // 2, c, 3, stride=2, padding=1), _act(c),            # 14x14
            nn.Conv2d(c, c, 3, padding=1), _act(c),
            nn.Conv2d(c, c, 3, stride=2, padding=1), _act(c),                 # 7x7
            nn.Flatten(),
            nn.Linear(c * 49, 2 * cfg.num_symbols),
        )
        self.num_symbols = cfg.num_symbols

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x float [B, 1, 28, 28] -> complex64 [B, k], unit mean power per image."""
        v = self.net(x)                                                        # [B, 2k] real
        z = torch.complex(v[:, :self.num_symbols], v[:, self.num_symbols:])
        return normalize_power(z)


class Decoder(nn.Module):
    def __init__(self, cfg: CodecConfig):
        super().__init__()
        c = cfg.channels
        k = cfg.num_symbols
        self.fc = nn.Sequential(nn.Linear(3 * k, c * 49), _act(c * 49))
        self.net = nn.Sequential(
            nn.Conv2d(c, c, 3, padding=1), _act(c),                                        # 7x7
            nn.ConvTranspose2d(c, c, 3, stride=2, padding=1, output_padding=1), _act(c),    # 14x14
            nn.Conv2d(c, c, 3, padding=1), _act(c),
            nn.ConvTranspose2d(c, c // 2, 3, stride=2, padding=1, output_padding=1), _act(c // 2),  # 28
            nn.Conv2d(c // 2, 1, 3, padding=1),
        )
        self.channels = c

    def forward(self, z_hat: torch.Tensor, no_eff: torch.Tensor) -> torch.Tensor:
        """z_hat complex [B, k], no_eff float [B, k] -> image float [B, 1, 28, 28] in [0, 1]."""
        # the LMMSE estimate of each unit-power symbol, z_hat / (1 + no_eff): bounded however deep
        # the fade (a ZF symbol on a faded carrier is mostly noise of huge variance), real/imag
        # scaled to unit variance per real part when noiseless; plus the log noise variance
        no_eff = no_eff.clamp_min(1e-12)
        z_mmse = z_hat * (2 ** 0.5 / (1 + no_eff))
        noise = torch.log10(no_eff).clamp(*NOISE_LOG10_RANGE)
        v = torch.cat([z_mmse.real, z_mmse.imag, noise], dim=-1)
        h = self.fc(v).view(-1, self.channels, 7, 7)
        return torch.sigmoid(self.net(h))


class Classifier(nn.Module):
    """A small CNN for 28x28 images (about 92 % on clean Fashion-MNIST)."""

    def __init__(self, num_classes: int = 10):
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),       # 14x14
            nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),      # 7x7
            nn.Flatten(), nn.Dropout(0.3), nn.Linear(64 * 49, 128), nn.ReLU(), nn.Linear(128, num_classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class SemanticCodec(nn.Module):
    """Encoder, decoder and classifier together; the unit the weights file holds."""

    def __init__(self, cfg: CodecConfig = CodecConfig()):
        super().__init__()
        self.cfg = cfg
        self.encoder = Encoder(cfg)
        self.decoder = Decoder(cfg)
        self.classifier = Classifier()

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(x)

    def decode(self, z_hat: torch.Tensor, no_eff: torch.Tensor) -> torch.Tensor:
        return self.decoder(z_hat, no_eff)

    def classify(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(x)


def symbol_channel(z: torch.Tensor, snr_db: torch.Tensor, fading: torch.Tensor,
                   generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """The channel after ZF equalisation, per symbol.

    z : complex [B, k] unit power; snr_db : float [B] Es/N0; fading : bool [B] (Rayleigh per
    symbol where True, AWGN elsewhere). returns (z_hat complex [B, k], no_eff float [B, k]).
    """
    n0 = 10 ** (-snr_db / 10)
    shape = z.shape
    h2 = torch.ones(shape, device=z.device)
    if bool(fading.any()):
        h = torch.randn(shape + (2,), generator=generator, device=z.device) * 0.5 ** 0.5
        rayleigh = (h ** 2).sum(-1).clamp_min(1e-3)
        h2 = torch.where(fading[:, None], rayleigh, h2)
    no_eff = n0[:, None] / h2
    noise = torch.randn(shape + (2,), generator=generator, device=z.device) * (no_eff / 2).sqrt()[..., None]
    return z + torch.complex(noise[..., 0], noise[..., 1]), no_eff


@torch.no_grad()
def channel_metrics(codec: SemanticCodec, x: torch.Tensor, y: torch.Tensor, generator: torch.Generator | None = None,
                    awgn_snrs=(0, 5, 10, 15, 20), rayleigh_snrs=(0, 10, 20)) -> dict:
    """The metrics a training manifest records: clean accuracy, and accuracy and PSNR through
    :func:`symbol_channel` at each SNR, AWGN and Rayleigh (``{"awgn": {"clean_accuracy": ...,
    "snr_10": {"accuracy": ..., "psnr_db": ...}, ...}, "rayleigh": {...}}``). Leaves codec in eval mode."""
    from ..metrics import accuracy, psnr_db

    codec.eval()
    z = codec.encode(x)
    out = {}
    for name, snrs in (("awgn", awgn_snrs), ("rayleigh", rayleigh_snrs)):
        row = out[name] = {"clean_accuracy": accuracy(codec.classify(x), y)}
        for snr in snrs:
            z_hat, no = symbol_channel(z, torch.full((len(x),), float(snr), device=x.device),
                                       torch.full((len(x),), name == "rayleigh", device=x.device), generator)
            x_hat = codec.decode(z_hat, no)
            row[f"snr_{snr:g}"] = {"accuracy": accuracy(codec.classify(x_hat), y),
                                   "psnr_db": float(psnr_db(x_hat, x).mean())}
    return out
