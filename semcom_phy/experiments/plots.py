"""The loopback's figures (matplotlib, Agg; imported only when a figure is drawn)."""

from __future__ import annotations

from pathlib import Path


def _pyplot():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def plot_images(x, rows: list[tuple[float, object]], path: Path, num: int = 10) -> None:
    """Originals ``x`` float [n, 1, 28, 28] in the first row, then what came back at each SNR
    (``rows``: (SNR dB, images [n, 1, 28, 28])); ``num`` columns at most."""
    plt = _pyplot()
    num = min(num, len(x))
    fig, axes = plt.subplots(len(rows) + 1, num, figsize=(num * 0.9, (len(rows) + 1) * 0.95), squeeze=False)
    for j in range(num):
        for i, (label, imgs) in enumerate([("original", x)] + [(f"{s:g} dB", r) for s, r in rows]):
            ax = axes[i, j]
            ax.imshow(imgs[j, 0].cpu().numpy(), cmap="gray", vmin=0, vmax=1)
            ax.set_xticks([])
            ax.set_yticks([])
            if j == 0:
                ax.set_ylabel(label, fontsize=8)
    fig.tight_layout(pad=0.2)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_curves(series: list[tuple[str, list[dict]]], path: Path, title: str, clean_accuracy: float | None) -> None:
    """Accuracy, PSNR and SSIM against SNR, one line per (label, result rows) of ``series``; a
    dashed line at ``clean_accuracy`` (the classifier on the originals) when given."""
    plt = _pyplot()
    fig, ax = plt.subplots(1, 3, figsize=(12, 3.5))
    markers = "osD^v<>ph*XP"
    for a, key, label in zip(ax, ("accuracy", "psnr_db", "ssim"), ("accuracy", "PSNR [dB]", "SSIM")):
        for i, (name, results) in enumerate(series):
            a.plot([r["snr_db"] for r in results], [r[key] for r in results], marker=markers[i % len(markers)],
                   label=name)
        a.set(xlabel="SNR [dB]", ylabel=label)
        a.grid(True, alpha=0.3)
    if clean_accuracy is not None:
        ax[0].axhline(clean_accuracy, ls="--", color="gray", label="classifier on the originals")
    ax[0].legend(fontsize=8)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
