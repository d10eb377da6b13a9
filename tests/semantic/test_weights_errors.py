"""Broken weights are named, never a traceback: a folder for a manifest, a manifest without its
keys, a file whose hash matches but that torch cannot read."""

import hashlib
import json
import shutil

import pytest

from semcom_phy.semantic import WeightsError, load_codec
from semcom_phy.semantic.paths import WEIGHTS_DIR


@pytest.fixture
def copy(tmp_path):
    shutil.copy(WEIGHTS_DIR / "codec.json", tmp_path / "codec.json")
    shutil.copy(WEIGHTS_DIR / "codec.pt", tmp_path / "codec.pt")
    return tmp_path


def test_a_folder_given_as_the_manifest_is_named(copy):
    with pytest.raises(WeightsError, match="is a folder: give a manifest"):
        load_codec(copy)


@pytest.mark.parametrize("key", ["file", "sha256", "config"])
def test_a_manifest_without_its_keys_is_named(copy, key):
    m = json.loads((copy / "codec.json").read_text())
    del m[key]
    (copy / "codec.json").write_text(json.dumps(m))
    with pytest.raises(WeightsError, match=f"lacks {key}"):
        load_codec(copy / "codec.json")


def test_a_truncated_file_whose_hash_matches_is_named(copy):
    (copy / "codec.pt").write_bytes((copy / "codec.pt").read_bytes()[:1000])
    m = json.loads((copy / "codec.json").read_text())
    m["sha256"] = hashlib.sha256((copy / "codec.pt").read_bytes()).hexdigest()
    (copy / "codec.json").write_text(json.dumps(m))
    with pytest.raises(WeightsError, match="not readable as weights"):
        load_codec(copy / "codec.json")


def test_a_config_that_does_not_build_the_model_is_named(copy):
    m = json.loads((copy / "codec.json").read_text())
    m["config"] = {"bogus": 1}
    (copy / "codec.json").write_text(json.dumps(m))
    with pytest.raises(WeightsError, match="does not build the model"):
        load_codec(copy / "codec.json")
