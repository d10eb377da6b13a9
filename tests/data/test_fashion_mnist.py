import gzip
import struct

import numpy as np
import pytest

from semcom_phy.data import DatasetError, load_split, read_idx
from semcom_phy.data.fashion_mnist import DEFAULT_ROOT, FILES


def _idx(array: np.ndarray, magic: int) -> bytes:
    header = struct.pack(">I", magic) + b"".join(struct.pack(">I", d) for d in array.shape)
    return header + array.astype(np.uint8).tobytes()


@pytest.fixture
def tiny(tmp_path):
    """A valid 5-image test split in the standard file names."""
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (5, 28, 28), dtype=np.uint8)
    labels = np.array([0, 9, 3, 3, 1], np.uint8)
    img_name, lbl_name = FILES["test"]
    (tmp_path / img_name).write_bytes(gzip.compress(_idx(images, 2051)))
    (tmp_path / lbl_name).write_bytes(gzip.compress(_idx(labels, 2049)))
    return tmp_path, images, labels


def test_parses_idx(tiny):
    root, images, labels = tiny
    split = load_split("test", root, verify=False)
    np.testing.assert_array_equal(split.images, images)
    np.testing.assert_array_equal(split.labels, labels)
    assert len(split) == 5


def test_modified_copy_fails_the_checksum(tiny):
    root, _, _ = tiny
    with pytest.raises(DatasetError, match="SHA-256"):
        load_split("test", root)


def test_truncated_gzip_is_rejected(tiny):
    root, _, _ = tiny
    path = root / FILES["test"][0]
    path.write_bytes(path.read_bytes()[:-40])
    with pytest.raises(DatasetError, match="gzip"):
        read_idx(path)


def test_truncated_contents_are_rejected(tmp_path):
    path = tmp_path / "x.gz"
    path.write_bytes(gzip.compress(_idx(np.zeros((4, 28, 28)), 2051)[:-100]))
    with pytest.raises(DatasetError, match="truncated"):
        read_idx(path)


def test_bad_magic_is_rejected(tmp_path):
    path = tmp_path / "x.gz"
    path.write_bytes(gzip.compress(_idx(np.zeros(3), 1234)))
    with pytest.raises(DatasetError, match="magic 1234"):
        read_idx(path)


def test_missing_files_name_the_package(tmp_path):
    with pytest.raises(DatasetError, match="apt-get install dataset-fashion-mnist"):
        load_split("train", tmp_path)
    with pytest.raises(ValueError, match="'train', 'test'"):
        load_split("validation", tmp_path)


@pytest.mark.skipif(not (DEFAULT_ROOT / FILES["test"][0]).exists(),
                    reason="Debian package dataset-fashion-mnist not installed (make setup installs it)")
def test_debian_test_split_loads_and_verifies():
    split = load_split("test")
    assert split.images.shape == (10000, 28, 28) and split.images.dtype == np.uint8
    assert np.bincount(split.labels).tolist() == [1000] * 10
