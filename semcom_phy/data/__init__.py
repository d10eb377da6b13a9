"""Datasets: Fashion-MNIST from the Debian package, as arrays or torch tensors."""

from .fashion_mnist import CLASSES, DatasetError, Split, dataset_root, load_split, read_idx


def to_tensor(images):
    """uint8 [N, 28, 28] -> torch float32 [N, 1, 28, 28] in [0, 1]."""
    import torch

    return torch.from_numpy(images.astype("float32") / 255.0).unsqueeze(1)


__all__ = ["CLASSES", "DatasetError", "Split", "dataset_root", "load_split", "read_idx", "to_tensor"]
