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


def test_image_step_beyond_the_shipped_denoisers_training_range_is_refused(codec):
    t_max = json.loads((WEIGHTS_DIR / "image_denoiser.json").read_text())["t_max"]
    load_defense(DefenseConfig("image", image_step=t_max), codec)
    for field in ("image_step", "sender_step"):                      # image_step -1 purifies from sender_step
        with pytest.raises(ValueError, match=f"{field} = {t_max + 1}: .* 0..{t_max}"):
            load_defense(DefenseConfig("image", **{field: t_max + 1}), codec)


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


@pytest.mark.parametrize("name, psr_db", [("advtrain", -10.0), ("advtrain_t1", float("-inf"))])
def test_adversarially_trained_codecs_record_their_origin(codec, name, psr_db):
    m = json.loads((WEIGHTS_DIR / f"codec_{name}.json").read_text())
    assert {"sha256", "config", "command", "training", "data"} <= set(m)
    assert m["initialised_from"]["sha256"] == codec.sha256        # fine-tuned from the shipped codec
    assert m["training"]["psr_db"] == psr_db                      # -inf: no air attack in training
    assert load_defense(DefenseConfig(name), codec).codec.sha256 == m["sha256"]


@needs_data
def test_adversarial_training_buys_robustness_against_pgd(codec):
    from semcom_phy.attacks import LinkModel, evaluate, pgd

    test = load_split("test")
    x, y = to_tensor(test.images[:96]), torch.from_numpy(test.labels[:96].astype("int64"))
    acc = {}
    for name in ("none", "advtrain", "advtrain_t1"):
        model = LinkModel(load_defense(DefenseConfig(name), codec), 10.0)
        x_adv = pgd(model, x, y, 0.1, steps=10, generator=torch.Generator().manual_seed(0))
        acc[name] = evaluate(model, x_adv, y, generator=torch.Generator().manual_seed(1))["accuracy"]
    assert min(acc["advtrain"], acc["advtrain_t1"]) > acc["none"] + 0.15, acc
