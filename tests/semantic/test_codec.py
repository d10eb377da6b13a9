import json
import shutil

import numpy as np
import pytest
import torch

from semcom_phy.config import OfdmConfig
from semcom_phy.semantic import (CodecConfig, SemanticCodec, WEIGHTS_DIR, WeightsError, load_codec,
                                 sha256_file, symbol_channel)


def _codec(seed=0, **kw):
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        return SemanticCodec(CodecConfig(**kw)).eval()


@torch.no_grad()
def test_encoder_output_has_unit_power_per_image():
    codec = _codec(num_symbols=96)
    x = torch.rand(16, 1, 28, 28)
    z = codec.encode(x)
    assert z.shape == (16, 96) and z.dtype == torch.complex64
    np.testing.assert_allclose(z.abs().pow(2).mean(dim=1).detach().numpy(), 1.0, rtol=1e-5)


@torch.no_grad()
def test_decoder_and_classifier_shapes():
    codec = _codec()
    z = codec.encode(torch.rand(4, 1, 28, 28))
    x_hat = codec.decode(z, torch.full(z.shape, 0.1))
    assert x_hat.shape == (4, 1, 28, 28) and float(x_hat.min()) >= 0 and float(x_hat.max()) <= 1
    assert codec.classify(x_hat).shape == (4, 10)


def test_symbol_channel_noise_matches_no_eff():
    g = torch.Generator().manual_seed(0)
    z = torch.zeros(2000, 128, dtype=torch.complex64)
    snr = torch.full((2000,), 10.0)
    for fading in (False, True):
        z_hat, no = symbol_channel(z, snr, torch.full((2000,), fading), g)
        ratio = (z_hat.abs() ** 2 / no).mean()
        assert float(ratio) == pytest.approx(1.0, rel=0.02)
        assert fading == bool((no > 0.1 + 1e-6).any())          # fading spreads no_eff around N0


def test_codec_config_validation():
    with pytest.raises(ValueError, match="num_symbols"):
        CodecConfig(num_symbols=1000)


def test_shipped_weights_load_and_match_their_manifest():
    manifest = json.loads((WEIGHTS_DIR / "codec.json").read_text())
    assert sha256_file(WEIGHTS_DIR / manifest["file"]) == manifest["sha256"]
    codec = load_codec()
    assert codec.cfg.num_symbols == manifest["config"]["num_symbols"]
    assert codec.cfg.bandwidth_ratio <= 1 / 6
    assert manifest["metrics_test_set_symbol_channel"]["awgn"]["clean_accuracy"] >= 0.90
    # the encoder's symbols fit whole OFDM symbols well (no more than one partly filled)
    assert codec.cfg.num_symbols / OfdmConfig().num_data_carriers > 2


def test_modified_weights_are_rejected(tmp_path):
    for name in ("codec.json", "codec.pt"):
        shutil.copy(WEIGHTS_DIR / name, tmp_path / name)
    weights = tmp_path / "codec.pt"
    data = bytearray(weights.read_bytes())
    data[len(data) // 2] ^= 0xFF
    weights.write_bytes(bytes(data))
    with pytest.raises(WeightsError, match="SHA-256"):
        load_codec(tmp_path / "codec.json")
    with pytest.raises(WeightsError, match="not found"):
        load_codec(tmp_path / "missing.json")
