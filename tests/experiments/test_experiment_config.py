"""The experiment configs: YAML round trip, the key never written, options generated from the config."""

import argparse
import subprocess
import sys

import pytest
import yaml

from semcom_phy.experiments import config as C
from semcom_phy.experiments.cli import resolve, unbound_paths
from semcom_phy.experiments.commands import LOOPBACK_OPTIONS, RECORD_OPTIONS


def test_a_config_round_trips_through_yaml_and_never_holds_the_key():
    cfg = C.load(C.LoopbackConfig, {"link": {"defense": {"defense": "latent", "scramble": True, "key": 12345},
                                             "interleave": 4, "modem": {"max_inferred_frames": 5}},
                                    "snr_db": [3, 7], "num_images": 32, "transport": {"channel": "fading"}})
    assert cfg.link.modem.gap_samples == 256 and cfg.link.modem.mode == "analog"   # the parent's defaults stay
    assert cfg.snr_db == (3, 7) and cfg.link.defense.key == 12345
    text = yaml.safe_dump(C.dump(cfg))
    assert "12345" not in text and hex(12345)[2:] not in text
    data = yaml.safe_load(text)
    assert data["link"]["defense"]["key_fingerprint"] == C.key_fingerprint(12345)
    with pytest.raises(ValueError, match="only its fingerprint"):
        C.load(C.LoopbackConfig, data)                           # a scrambled config needs its key again
    data["link"]["defense"]["key"] = 999
    with pytest.raises(ValueError, match="does not match the key_fingerprint"):
        C.load(C.LoopbackConfig, data)
    data["link"]["defense"]["key"] = 12345
    assert C.load(C.LoopbackConfig, data) == cfg
    assert C.load(C.LoopbackConfig, C.dump(C.LoopbackConfig())) == C.LoopbackConfig()


@pytest.mark.parametrize("data, message", [
    ({"link": {"interleave": 0}}, "LinkConfig.interleave = 0 is out of range"),
    ({"snr_db": [500]}, "LoopbackConfig.snr_db = 500 is out of range: allowed [-30, 100]"),
    ({"num_images": 0}, "LoopbackConfig.num_images = 0 is out of range: allowed [1, 1000000]"),
    ({"transport": {"kind": "moon"}}, "TransportConfig.kind = 'moon': allowed values are"),
    ({"link": {"defense": {"nfe": 0}}}, "DefenseConfig.nfe = 0"),
    ({"link": {"defenze": {}}}, "LoopbackConfig.link: unknown key(s) ['defenze']"),
    ({"seed": -1}, "LoopbackConfig.seed = -1 is out of range"),
    ({"link": {"modem": {"mode": "digital"}}}, "the semantic link needs 'analog'"),
])
def test_bad_config_values_are_named(data, message):
    with pytest.raises(ValueError) as err:
        C.load(C.LoopbackConfig, data)
    assert message in str(err.value)


def test_every_option_is_a_config_field_with_the_configs_default():
    for options, cls in ((LOOPBACK_OPTIONS, C.LoopbackConfig), (RECORD_OPTIONS, C.RecordConfig)):
        paths = set(C.leaf_paths(cls))
        assert {o.path for o in options} <= paths
        ap = argparse.ArgumentParser()
        from semcom_phy.experiments.cli import add_options
        add_options(ap, options, cls)
        assert resolve(ap, ap.parse_args([]), options, cls) == cls()   # no option given: the defaults
    # what no option sets is reachable through --config: the grid, the modem, radio buffers
    assert "link.ofdm.fft_size" in unbound_paths(LOOPBACK_OPTIONS, C.LoopbackConfig)


def test_options_override_the_config_file(tmp_path):
    (tmp_path / "run.yaml").write_text("num_images: 40\nsnr_db: [1, 2]\nlink: {defense: {defense: latent}}\n")
    ap = argparse.ArgumentParser()
    from semcom_phy.experiments.cli import add_config_option, add_options
    add_config_option(ap)
    add_options(ap, LOOPBACK_OPTIONS, C.LoopbackConfig)
    cfg = resolve(ap, ap.parse_args(["--config", str(tmp_path / "run.yaml"), "--snr", "9", "--no-stochastic",
                                     "--scramble"]), LOOPBACK_OPTIONS, C.LoopbackConfig)
    assert (cfg.num_images, cfg.snr_db, cfg.link.defense.defense, cfg.link.defense.scramble) == (40, (9.0,), "latent",
                                                                                                  True)


def test_commands_answer_help_without_torch():
    code = ("import sys\nfrom semcom_phy.experiments.commands import COMMANDS\n"
            "for name, main in COMMANDS.items():\n"
            "    try:\n        main(['--help'])\n    except SystemExit as e:\n        assert e.code == 0, name\n"
            "assert 'torch' not in sys.modules, 'torch imported'\n")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    assert "--config FILE.yaml" in res.stdout and "--preset" in res.stdout and "--key INT" in res.stdout
