"""Datasets: Fashion-MNIST from the Debian package, as arrays or torch tensors.

The Fashion-MNIST names are imported on first use (PEP 562); the tensor helpers import torch
when called."""

from typing import Any, NamedTuple

import numpy as np

from .._lazy import attach
from ..validation import check_number

_FASHION_MNIST = ("CLASSES", "FILES", "SHA256", "DatasetError", "Split", "dataset_root", "load_split", "read_idx")
__getattr__, _lazy_dir, _ = attach(__name__, dict.fromkeys(_FASHION_MNIST, ".fashion_mnist"))


def to_tensor(images):
    """uint8 [N, 28, 28] -> torch float32 [N, 1, 28, 28] in [0, 1]."""
    import torch

    return torch.from_numpy(images.astype("float32") / 255.0).unsqueeze(1)


class TestImages(NamedTuple):
    """Fashion-MNIST test images: images float32 [N, 1, 28, 28] in [0, 1], labels int64 [N] (torch,
    on one device), indices int64 [N] (numpy: their places in the test set, ascending)."""

    images: Any
    labels: Any
    indices: np.ndarray


def pick_test_images(num: int, rng: np.random.Generator, root=None, device="cpu", test=None) -> TestImages:
    """``num`` distinct test images chosen with ``rng`` (the loopback's choice: its seed names the
    images); ``test``: an already loaded test split (default: loaded from ``root``)."""
    import torch

    from .fashion_mnist import load_split

    test = test if test is not None else load_split("test", root)
    check_number(num, "num", 1, len(test), integer=True)
    pick = np.sort(rng.choice(len(test), int(num), replace=False))
    return TestImages(to_tensor(test.images[pick]).to(device),
                      torch.from_numpy(test.labels[pick].astype(np.int64)).to(device), pick)


def load_test_images(num: int = 64, seed: int = 0, root=None, device="cpu") -> TestImages:
    """``num`` Fashion-MNIST test images chosen by ``seed`` (the same ones a loopback of that seed
    and size sends), as (images float32 [num, 1, 28, 28], labels int64 [num], indices [num])."""
    return pick_test_images(num, np.random.default_rng(seed), root, device)


def minibatches(n: int, size: int, generator):
    """Shuffled index batches (torch long [<= size]) covering range(n) once, from a torch.Generator."""
    import torch

    order = torch.randperm(n, generator=generator)
    for i in range(0, n, size):
        yield order[i:i + size]


def training_tensors(root=None, device="cpu", limit: int = 0, num_test: int = 10_000):
    """(x_train, y_train, x_test, y_test) on ``device`` for the training scripts: images float
    [N, 1, 28, 28] in [0, 1], labels long [N]; ``num_test`` the first test images; ``limit`` > 0
    keeps that many training images and at most that many test images (smoke runs)."""
    import torch

    from .fashion_mnist import load_split

    out = []
    for split, n in (("train", limit or None), ("test", min(num_test, limit or num_test))):
        s = load_split(split, root)
        out += [to_tensor(s.images[:n]).to(device), torch.from_numpy(s.labels[:n].astype("int64")).to(device)]
    return tuple(out)


def data_manifest(root=None, num_train: int = 60_000, num_test: int = 10_000) -> dict:
    """What a training manifest records about the data it used."""
    from .fashion_mnist import FILES, SHA256, dataset_root

    return {"dataset": "Fashion-MNIST (Debian dataset-fashion-mnist)", "root": str(dataset_root(root)),
            "files_sha256_decompressed": {f: SHA256[f] for f in FILES["train"] + FILES["test"]},
            "train_images": num_train, "test_images": num_test}


__all__ = ["CLASSES", "DatasetError", "Split", "data_manifest", "dataset_root", "load_split", "minibatches",
           "read_idx", "to_tensor", "training_tensors", "TestImages", "pick_test_images", "load_test_images"]


def __dir__():
    return sorted(set(__all__) | set(_lazy_dir()))
