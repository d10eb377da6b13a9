"""The shipped denoisers: they load, match their manifests and codec, and do their job."""

import copy
import json
import shutil

import pytest
import torch

from semcom_phy.data import load_split, to_tensor
from semcom_phy.data.fashion_mnist import DEFAULT_ROOT
from semcom_phy.purify import DefenseConfig, load_defense, purify_latent
from semcom_phy.semantic import WEIGHTS_DIR, WeightsError, load_codec, symbol_channel

needs_data = pytest.mark.skipif(not DEFAULT_ROOT.exists(), reason="Debian package dataset-fashion-mnist not installed")


@pytest.fixture(scope="module")
def codec():
    return load_codec()


@pytest.mark.parametrize("name", ["latent_denoiser", "image_denoiser", "codec_image"])
def test_manifests_record_how_the_weights_were_made(name):
    m = json.loads((WEIGHTS_DIR / f"{name}.json").read_text())
    assert {"sha256", "config", "schedule", "command", "training", "data"} <= set(m)
    assert m["training"]["seed"] is not None


def test_latent_denoiser_belongs_to_the_shipped_codec(codec, tmp_path):
    load_defense(DefenseConfig("latent"), codec)
    other = copy.deepcopy(codec)
    other.sha256 = "0" * 64
    with pytest.raises(WeightsError, match="retrain it"):
        load_defense(DefenseConfig("latent"), other)
    # a modified weights file is refused before it is read
    for f in ("latent_denoiser.json", "latent_denoiser.pt"):
        shutil.copy(WEIGHTS_DIR / f, tmp_path / f)
    with open(tmp_path / "latent_denoiser.pt", "r+b") as f:
        f.seek(100)
        f.write(b"\x00\x01")
    with pytest.raises(WeightsError, match="SHA-256"):
        load_defense(DefenseConfig("latent"), codec, weights_dir=tmp_path)


@needs_data
@torch.no_grad()
@pytest.mark.parametrize("snr", [0.0, 5.0, 10.0])
def test_purification_at_the_matched_step_lowers_symbol_error_below_lmmse(codec, snr):
    defense = load_defense(DefenseConfig("receiver"), codec)
    x = to_tensor(load_split("test").images[:256])
    g = torch.Generator().manual_seed(0)
    z = codec.encode(x)
    z_hat, no = symbol_channel(z, torch.full((256,), snr), torch.zeros(256, dtype=torch.bool), g)
    z_pur, _ = purify_latent(defense.denoiser, defense.schedule, z_hat, no, -1, 4, 0.0, g, defense.max_step)
    lmmse = (z_hat / (1 + no) - z).abs().pow(2).mean()
    assert (z_pur - z).abs().pow(2).mean() < 0.9 * lmmse
