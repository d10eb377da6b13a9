"""The certification's config (semcom_phy.certify.config): typed and range-checked fields, unknown
keys refused by name, the shipped config loads, and none of it imports torch."""

import subprocess
import sys

import pytest

from semcom_phy.certify.config import CertifyConfig
from semcom_phy.resources import config_path


def test_the_shipped_config_loads():
    cfg = CertifyConfig.load(config_path("certify_quick"))
    assert cfg.name == "certify_quick" and cfg.receivers == ("none", "latent") and cfg.n == 1000
    assert cfg.to_dict()["sigmas"] == [0.1, 0.25, 0.5, 1.0]


@pytest.mark.parametrize("field, value, match", [
    ("n", 0, r"CertifyConfig.n = 0 is out of range"),
    ("alpha", 0.7, r"CertifyConfig.alpha = 0.7 is out of range: allowed \(0, 0.5\]"),
    ("sigmas", [0.0], r"CertifyConfig.sigmas = 0.0 is out of range"),
    ("receivers", ["median"], r"CertifyConfig.receivers = 'median': allowed values are 'none', 'latent', 'image'"),
    ("t1_receivers", ["latent"], r"CertifyConfig.t1_receivers = 'latent': allowed values are 'none', 'image'"),
    ("t1_steps", [200], r"CertifyConfig.t1_steps = 200"),
    ("image_step", 121, r"CertifyConfig.image_step = 121"),
    ("l2_eps", [-0.1], r"CertifyConfig.l2_eps = -0.1"),
    ("channels", ["moon"], r"CertifyConfig.channels = 'moon'"),
    ("num_images", 2.5, r"CertifyConfig.num_images = 2.5: must be an integer"),
    ("sigmas", [], r"CertifyConfig.sigmas = \[\]: a non-empty list"),
    ("snr_db", [10, 10], r"values repeat"),
    ("name", "../x", r"a plain folder name"),
])
def test_a_bad_field_is_named(field, value, match):
    with pytest.raises(ValueError, match=match):
        CertifyConfig(**{"name": "x", field: value})


def test_unknown_keys_are_refused_by_name(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("name: c\nsigma: 0.5\n")
    with pytest.raises(ValueError, match=r"unknown keys \['sigma'\]"):
        CertifyConfig.load(path)
    path.write_text("name: c\nn: -1\n")
    with pytest.raises(ValueError, match=r"c.yaml: CertifyConfig.n = -1"):
        CertifyConfig.load(path)


def test_the_config_and_the_help_import_no_torch():
    code = ("import sys; from semcom_phy.certify import CertifyConfig; CertifyConfig(name='x'); "
            "print('torch' in sys.modules)")
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout.strip() == "False"
