"""The training scripts behind the shipped weights still run end to end (tiny smoke settings):
each writes weights and a manifest that the loaders accept, and a seed makes a run repeat."""

import json

import pytest
import torch

from semcom_phy.data.fashion_mnist import DEFAULT_ROOT
from semcom_phy.purify import DefenseConfig, load_defense
from semcom_phy.semantic import load_codec

pytestmark = pytest.mark.skipif(not DEFAULT_ROOT.exists(), reason="Debian package dataset-fashion-mnist not installed")

TINY_CODEC = ["--epochs-classifier", "1", "--epochs", "1", "--epochs-finetune", "1", "--limit", "128",
              "--channels", "8", "--num-symbols", "16"]


def _manifest(path):
    doc = json.loads(path.read_text())
    assert len(doc["sha256"]) == 64 and doc["command"].startswith("python scripts/train_")
    assert doc["data"]["train_images"] <= 128 and doc["training"]["seed"] == 0
    return doc


def test_train_codec_writes_a_loadable_codec_and_repeats_with_its_seed(run_script, tmp_path):
    for run in ("a", "b"):
        res = run_script("scripts/train_codec.py", *TINY_CODEC, "--out", str(tmp_path / run))
        assert res.returncode == 0, res.stderr
    a, b = (_manifest(tmp_path / run / "codec.json") for run in ("a", "b"))
    assert a["sha256"] == b["sha256"]                                   # same seed, same weights
    codec = load_codec(tmp_path / "a" / "codec.json")
    assert codec.cfg.num_symbols == 16
    with torch.no_grad():
        assert codec.encode(torch.rand(2, 1, 28, 28)).shape == (2, 16)


def test_train_purifier_latent_and_image_write_what_load_defense_needs(run_script, tmp_path):
    res = run_script("scripts/train_purifier.py", "latent", "--epochs", "1", "--limit", "128", "--hidden", "32",
                     "--depth", "1", "--out", str(tmp_path))
    assert res.returncode == 0, res.stderr
    res = run_script("scripts/train_purifier.py", "image", "--epochs", "1", "--codec-epochs", "1", "--limit", "64",
                     "--classifier-epochs", "1", "--image-step", "100",
                     "--channels", "8", "--out", str(tmp_path))
    assert res.returncode == 0, res.stderr
    for name in ("latent_denoiser", "image_denoiser", "codec_image"):
        _manifest(tmp_path / f"{name}.json")
    codec = load_codec()
    for defense in ("receiver", "latent", "image"):
        d = load_defense(DefenseConfig(defense, nfe=1), codec, weights_dir=tmp_path)
        with torch.no_grad():
            x_hat, logits = d.decode(d.encode(torch.rand(2, 1, 28, 28)) + 0.1, torch.full((2, 128), 0.1))
        assert x_hat.shape == (2, 1, 28, 28) and logits.shape == (2, 10)


@pytest.mark.parametrize("name, psr", [("advtrain", "-10"), ("advtrain_t1", "-inf")])
def test_train_adversarial_writes_a_loadable_codec(run_script, tmp_path, name, psr):
    res = run_script("scripts/train_adversarial.py", "--epochs", "1", "--limit", "64", "--pgd-steps", "1",
                     f"--psr-db={psr}", "--out", str(tmp_path))
    assert res.returncode == 0, res.stderr
    doc = _manifest(tmp_path / f"codec_{name}.json")
    assert doc["initialised_from"]["sha256"] == load_codec().sha256            # fine-tuned from the shipped codec
    load_defense(DefenseConfig(name), load_codec(), weights_dir=tmp_path)
