"""The detection config (semcom_phy.detect.config) and command line (semcom_phy.detect.cli):
typed and range-checked fields, unknown keys refused by name, the shipped config loads, --help
explains and imports no torch, a bad input is one error line and exit 2."""

import subprocess
import sys

import pytest

from semcom_phy.detect.cli import main
from semcom_phy.detect.config import DetectConfig
from semcom_phy.resources import config_path


def test_the_shipped_config_loads():
    cfg = DetectConfig.load(config_path("detect_quick"))
    assert cfg.name == "detect_quick" and cfg.num_images == 256 and cfg.calibration_images == 256
    assert -10 in cfg.psr_db and cfg.false_alarm == 0.05 and cfg.to_dict()["linf"] == [0.1]


@pytest.mark.parametrize("field, value, match", [
    ("num_images", 0, r"DetectConfig.num_images = 0 is out of range: allowed \[1, 9999\]"),
    ("num_images", 2.5, r"DetectConfig.num_images = 2.5: must be an integer"),
    ("calibration_images", 9999, r"num_images \+ calibration_images = 10255"),
    ("false_alarm", 0.7, r"DetectConfig.false_alarm = 0.7 is out of range: allowed \(0, 0.5\]"),
    ("false_alarm", 0, r"DetectConfig.false_alarm = 0 is out of range"),
    ("psr_db", [-90], r"DetectConfig.psr_db = -90 is out of range: allowed \[-60, 20\]"),
    ("linf", [1.5], r"DetectConfig.linf = 1.5 is out of range"),
    ("scores", ["energy"], r"DetectConfig.scores = 'energy': allowed values are 'latent_residual'"),
    ("scores", [], r"DetectConfig.scores = \[\]: a non-empty list"),
    ("channels", ["moon"], r"DetectConfig.channels = 'moon'"),
    ("snr_db", [10, 10], r"values repeat"),
    ("latent_draws", 0, r"DetectConfig.latent_draws = 0 is out of range"),
    ("universal_images", 60001, r"DetectConfig.universal_images = 60001 is out of range: allowed \[0, 60000\]"),
    ("image_step", 0, r"DetectConfig.image_step = 0 is out of range"),
    ("adaptive_target", "nope", r"DetectConfig.adaptive_target = 'nope'"),
    ("adaptive_lambdas", [-1], r"DetectConfig.adaptive_lambdas = -1 is out of range"),
    ("name", "../x", r"a plain folder name"),
])
def test_a_bad_field_is_named(field, value, match):
    with pytest.raises(ValueError, match=match):
        DetectConfig(**{"name": "x", field: value})


def test_the_adaptive_target_must_be_a_scored_score():
    with pytest.raises(ValueError, match=r"adaptive_target = 'image_residual': not one of the config's scores"):
        DetectConfig(name="x", scores=["latent_residual"], adaptive_target="image_residual")
    assert DetectConfig(name="x", scores=["latent_residual"], adaptive_target="combined").psr_db == (-20, -15, -10)
    assert DetectConfig(name="x", psr_db=[], linf=[], adaptive_lambdas=[]).linf == ()


def test_unknown_keys_are_refused_by_name(tmp_path):
    path = tmp_path / "d.yaml"
    path.write_text("name: d\nthreshold: 3\n")
    with pytest.raises(ValueError, match=r"unknown keys \['threshold'\]"):
        DetectConfig.load(path)
    path.write_text("name: d\nsteps: 0\n")
    with pytest.raises(ValueError, match=r"d.yaml: DetectConfig.steps = 0"):
        DetectConfig.load(path)


def test_help_explains_and_imports_no_torch():
    code = ("import sys\nfrom semcom_phy.detect.cli import main\ntry:\n    main(['--help'])\nexcept SystemExit as e:\n"
            "    print('exit', e.code)\nprint('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip().endswith("exit 0\nFalse")
    for words in ("latent_residual", "calibration", "false_alarm", "adaptive", "AUC", "--config", "detect_quick"):
        assert words in out.stdout


def test_a_bad_config_is_one_error_line_and_exit_2(tmp_path, capsys):
    path = tmp_path / "d.yaml"
    path.write_text("name: d\nfalse_alarm: 2\n")
    with pytest.raises(SystemExit) as err:
        main(["--config", str(path)])
    assert err.value.code == 2
    lines = [ln for ln in capsys.readouterr().err.splitlines() if ln.startswith("error") or "error:" in ln]
    assert len(lines) == 1 and "DetectConfig.false_alarm = 2" in lines[0]
    with pytest.raises(SystemExit) as err:
        main(["--config", "no_such_config"])
    assert err.value.code == 2 and "neither a shipped config nor a YAML file" in capsys.readouterr().err


def test_the_script_answers_help(run_script):
    res = run_script("scripts/detect.py", "--help", timeout=60)
    assert res.returncode == 0 and res.stdout.startswith("usage: detect.py") and "--out" in res.stdout
    res = run_script("scripts/detect.py", "--threads", "-1", timeout=60)
    assert res.returncode == 2 and res.stderr.strip().splitlines()[-1] == \
        "detect.py: error: argument --threads: -1: must be >= 0 (0: torch's default)"
