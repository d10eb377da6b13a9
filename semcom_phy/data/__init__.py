"""Datasets: Fashion-MNIST from the Debian package, as arrays or torch tensors."""

from .fashion_mnist import CLASSES, FILES, SHA256, DatasetError, Split, dataset_root, load_split, read_idx


def to_tensor(images):
    """uint8 [N, 28, 28] -> torch float32 [N, 1, 28, 28] in [0, 1]."""
    import torch

    return torch.from_numpy(images.astype("float32") / 255.0).unsqueeze(1)


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

    out = []
    for split, n in (("train", limit or None), ("test", min(num_test, limit or num_test))):
        s = load_split(split, root)
        out += [to_tensor(s.images[:n]).to(device), torch.from_numpy(s.labels[:n].astype("int64")).to(device)]
    return tuple(out)


def data_manifest(root=None, num_train: int = 60_000, num_test: int = 10_000) -> dict:
    """What a training manifest records about the data it used."""
    return {"dataset": "Fashion-MNIST (Debian dataset-fashion-mnist)", "root": str(dataset_root(root)),
            "files_sha256_decompressed": {f: SHA256[f] for f in FILES["train"] + FILES["test"]},
            "train_images": num_train, "test_images": num_test}


__all__ = ["CLASSES", "DatasetError", "Split", "data_manifest", "dataset_root", "load_split", "minibatches",
           "read_idx", "to_tensor", "training_tensors"]
