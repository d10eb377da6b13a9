"""Metrics: accuracy, PSNR, SSIM (pytorch-msssim), EVM, frame loss."""

from __future__ import annotations

import numpy as np
import torch


def accuracy(logits: torch.Tensor, labels: torch.Tensor, valid: torch.Tensor | None = None) -> float:
    """Fraction of correct predictions; entries with ``valid == False`` (lost) count as wrong."""
    correct = logits.argmax(dim=-1) == labels
    if valid is not None:
        correct &= valid
    return float(correct.float().mean()) if correct.numel() else float("nan")


def psnr_db(x_hat: torch.Tensor, x: torch.Tensor, data_range: float = 1.0) -> torch.Tensor:
    """Per-image PSNR [B] in dB of images [B, C, H, W] (MSE floored at 1e-10)."""
    mse = ((x_hat - x) ** 2).flatten(1).mean(dim=1).clamp_min(1e-10)
    return 10 * torch.log10(data_range ** 2 / mse)


def ssim(x_hat: torch.Tensor, x: torch.Tensor, data_range: float = 1.0) -> torch.Tensor:
    """Per-image SSIM [B] (pytorch-msssim, 7x7 Gaussian window to suit 28x28 images)."""
    from pytorch_msssim import ssim as _ssim

    return _ssim(x_hat.float(), x.float(), data_range=data_range, size_average=False, win_size=7)


def evm_db(received: np.ndarray, sent: np.ndarray) -> float:
    """10 log10(mean |received - sent|^2 / mean |sent|^2) over all given symbols."""
    err = np.mean(np.abs(np.asarray(received) - np.asarray(sent)) ** 2)
    return power_ratio_db(err, np.mean(np.abs(sent) ** 2))


def power_ratio_db(err: float, power: float) -> float:
    """10 log10(err / power), both floored at 1e-30 (EVM from mean error and signal powers)."""
    return float(10 * np.log10(max(err, 1e-30) / max(power, 1e-30)))


def evm_mmse_db(received: np.ndarray, sent: np.ndarray, no_eff: np.ndarray) -> float:
    """EVM of the MMSE-scaled symbols, :func:`evm_db` of ``received / (1 + no_eff)``: the ZF
    symbols ``received`` with their effective noise variances ``no_eff`` (the receiver's own
    estimate, per symbol, for unit-power symbols ``sent``) shrunk to the linear MMSE estimate.
    A symbol's expected error is ``no_eff / (1 + no_eff)`` instead of ``no_eff``, at most 1 on a
    carrier lost in a fade, so unlike the ZF EVM the mean tracks link quality under fading; on
    AWGN at high SNR the two agree (-20.04 dB against -20 dB at no_eff 0.01)."""
    return evm_db(mmse_scaled(received, no_eff), sent)


def mmse_scaled(received: np.ndarray, no_eff: np.ndarray) -> np.ndarray:
    """The linear MMSE estimate ``received / (1 + no_eff)`` of unit-power symbols from their ZF
    estimates ``received`` and effective noise variances ``no_eff``."""
    return np.asarray(received) / (1.0 + np.asarray(no_eff, np.float64))


def frame_loss(sent: int, received: int) -> float:
    return 1.0 - received / sent if sent else float("nan")


__all__ = ["accuracy", "psnr_db", "ssim", "evm_db", "evm_mmse_db", "frame_loss"]
