"""Fashion-MNIST from the Debian package ``dataset-fashion-mnist`` (no downloads).

Files are gzipped IDX (big-endian header: magic 2051 for images / 2049 for labels, dimensions,
then uint8 data). Every file is checked while it is read: gzip CRC, magic, dimensions, exact
length, and, for the standard files, the SHA-256 of the decompressed bytes, so a truncated or
modified file is reported instead of decoded.

The directory is, in order: the ``root`` argument, the ``SEMCOM_PHY_FASHION_MNIST`` environment
variable (the one documented data path), ``/usr/share/datasets/fashion-mnist``.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

DEFAULT_ROOT = Path("/usr/share/datasets/fashion-mnist")
ENV_VAR = "SEMCOM_PHY_FASHION_MNIST"
CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
           "Ankle boot")
FILES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}
# SHA-256 of the decompressed standard files (the Debian package ships the originals)
SHA256 = {
    "train-images-idx3-ubyte.gz": "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
    "train-labels-idx1-ubyte.gz": "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
    "t10k-images-idx3-ubyte.gz": "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
    "t10k-labels-idx1-ubyte.gz": "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
}


class DatasetError(RuntimeError):
    """The dataset is missing, truncated or corrupted; the message says what to do."""


@dataclass(frozen=True)
class Split:
    """images : uint8 [num, 28, 28]; labels : uint8 [num] in 0..9."""

    images: np.ndarray
    labels: np.ndarray

    def __len__(self) -> int:
        return int(self.labels.size)


def dataset_root(root: str | Path | None = None) -> Path:
    return Path(root or os.environ.get(ENV_VAR) or DEFAULT_ROOT)


def read_idx(path: Path, expected_sha256: str | None = None) -> np.ndarray:
    """Parse one gzipped IDX file into a uint8 array, validating everything on the way."""
    try:
        raw = gzip.decompress(path.read_bytes())
    except (EOFError, OSError, zlib.error) as err:
        raise DatasetError(f"{path}: not a valid gzip file (truncated or corrupted: {err}); reinstall it "
                           "with: sudo apt-get install --reinstall dataset-fashion-mnist") from err
    if len(raw) < 8:
        raise DatasetError(f"{path}: {len(raw)} bytes is too short for an IDX header")
    magic = int.from_bytes(raw[:4], "big")
    if magic not in (2049, 2051):
        raise DatasetError(f"{path}: IDX magic {magic} is neither 2049 (labels) nor 2051 (images)")
    ndim = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    header = 4 + 4 * ndim
    expected = header + int(np.prod(dims))
    if len(raw) != expected:
        raise DatasetError(f"{path}: {len(raw)} bytes after decompression, the header {dims} promises "
                           f"{expected}: the file is truncated or corrupted")
    if expected_sha256 is not None and hashlib.sha256(raw).hexdigest() != expected_sha256:
        raise DatasetError(f"{path}: SHA-256 of the contents does not match the published Fashion-MNIST "
                           "file: it is modified or corrupted")
    return np.frombuffer(raw, np.uint8, offset=header).reshape(dims)


def load_split(split: str = "test", root: str | Path | None = None, verify: bool = True) -> Split:
    """Load ``"train"`` (60000 images) or ``"test"`` (10000 images).

    verify: check the SHA-256 of the standard files (set False for a different but valid copy).
    """
    if split not in FILES:
        raise ValueError(f"split = {split!r}: allowed values are 'train', 'test'")
    folder = dataset_root(root)
    names = FILES[split]
    missing = [n for n in names if not (folder / n).is_file()]
    if missing:
        raise DatasetError(f"Fashion-MNIST files {missing} not found in {folder}. Install them with "
                           "`sudo apt-get install dataset-fashion-mnist` (or `make setup`), or point "
                           f"{ENV_VAR} / --data-dir at a folder holding the four *-ubyte.gz files.")
    images, labels = (read_idx(folder / n, SHA256[n] if verify else None) for n in names)
    if images.ndim != 3 or labels.ndim != 1 or images.shape[0] != labels.shape[0]:
        raise DatasetError(f"{folder}: images {images.shape} and labels {labels.shape} do not match")
    if labels.max() > 9:
        raise DatasetError(f"{folder}: label {labels.max()} is outside 0..9")
    return Split(images, labels)
