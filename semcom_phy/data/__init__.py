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
    on one device), indices int64 [N] (numpy: their places in the test set, see :func:`pick_indices`)."""

    images: Any
    labels: Any
    indices: np.ndarray


MAX_RUN_IMAGES = 1_000_000
"""The most images one run sends (the test set's 10,000 repeat beyond it)."""


def pick_indices(num: int, rng: np.random.Generator, size: int) -> np.ndarray:
    """The test-set indices int64 [num] of a run of ``num`` images from a test set of ``size``:
    ``num`` distinct ones chosen with ``rng``, ascending; beyond ``size`` the whole set once per
    ``size`` images (each image then comes ``num // size`` or one more times), then a choice of
    the rest. A run's seed names its images."""
    check_number(num, "num", 1, MAX_RUN_IMAGES, integer=True)
    whole, rest = divmod(int(num), size)
    return np.concatenate([np.tile(np.arange(size, dtype=np.int64), whole),
                           np.sort(rng.choice(size, rest, replace=False)).astype(np.int64)])


def check_indices(pick, size: int, name: str = "images") -> np.ndarray:
    """``pick`` as int64 [n], checked: n >= 1, every index in [0, size), and no image more often
    than a run of n images sends it (:func:`pick_indices`: distinct up to ``size`` images).
    Raises ValueError naming ``name``."""
    pick = np.asarray(pick)
    if pick.ndim != 1 or pick.size == 0 or pick.dtype.kind not in "iu" or pick.min() < 0 or pick.max() >= size:
        raise ValueError(f"{name} must be a non-empty list of test-set indices in [0, {size - 1}]")
    most = -(-pick.size // size)
    if np.bincount(pick, minlength=size).max() > most:
        raise ValueError(f"{name}: an index comes more than {most} time(s) in {pick.size} images "
                         f"(a run sends distinct images up to the {size} of the test set)")
    return pick.astype(np.int64)


def pick_test_images(num: int, rng: np.random.Generator, root=None, device="cpu", test=None) -> TestImages:
    """The ``num`` test images of :func:`pick_indices` (the loopback's choice), as tensors on
    ``device``; ``test``: an already loaded test split (default: loaded from ``root``)."""
    from .fashion_mnist import load_split

    test = test if test is not None else load_split("test", root)
    return take_images(test, pick_indices(num, rng, len(test)), device)


def take_images(test, pick: np.ndarray, device="cpu") -> TestImages:
    """The images ``pick`` int64 [n] of the test split ``test`` as :class:`TestImages` on ``device``."""
    import torch

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
           "read_idx", "to_tensor", "training_tensors", "TestImages", "pick_test_images", "load_test_images",
           "pick_indices", "check_indices", "take_images", "MAX_RUN_IMAGES"]


def __dir__():
    return sorted(set(__all__) | set(_lazy_dir()))
