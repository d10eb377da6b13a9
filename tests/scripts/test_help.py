"""``--help`` of the scripts answers without importing torch (torch and the models load after the
options are parsed; the wall time is measured and reported, not asserted here)."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# every script: their parsers are torch-free
SCRIPTS = [
    "scripts/loopback.py",
    "scripts/record.py",
    "scripts/ota.py",
    "scripts/replay.py",
    "scripts/compare.py",
    "scripts/train_codec.py",
    "scripts/train_purifier.py",
    "scripts/train_adversarial.py",
    "scripts/evaluate.py",
    "scripts/certify.py",
    "scripts/detect.py",
    "scripts/bench_purify.py",
    "scripts/bench_phy.py",
    "scripts/bench_link.py",
    "scripts/bench_receiver.py",
    "scripts/bench_evaluate.py",
    "scripts/bench_memory.py",
    "scripts/gpu_check.py",
    "scripts/phy_loopback.py",
    "hardware/check_pluto.py",
]

# runs a script as ``python SCRIPT --help`` would, then says whether torch was imported
WRAPPER = """
import runpy, sys
path = sys.argv[1]
sys.argv = [path, "--help"]
try:
    runpy.run_path(path, run_name="__main__")
except SystemExit as stop:
    if stop.code not in (0, None):
        raise
print("torch imported:", "torch" in sys.modules)
"""


@pytest.mark.parametrize("script", SCRIPTS)
def test_help_imports_no_torch(script):
    res = subprocess.run([sys.executable, "-c", WRAPPER, str(ROOT / script)], capture_output=True, text=True,
                         timeout=120, cwd=ROOT)
    assert res.returncode == 0, res.stderr
    *help_lines, verdict = res.stdout.rstrip("\n").split("\n")
    assert verdict == "torch imported: False", f"{script} --help imports torch"
    assert "usage:" in "\n".join(help_lines), res.stdout


@pytest.mark.parametrize("command", ["evaluate", "certify", "detect"])
def test_batch_scripts_share_their_options(command, capsys):
    """The three batch experiments: --help lists the script's own shipped configs only, and a
    bad --threads is one parser error (exit 2) naming the option, before anything loads."""
    import importlib

    from semcom_phy.resources import config_names

    main = importlib.import_module(f"semcom_phy.{'evaluation' if command == 'evaluate' else command}.cli").main
    with pytest.raises(SystemExit) as stop:
        main(["--help"])
    assert stop.value.code == 0
    shown = " ".join(capsys.readouterr().out.split())
    listed = shown.split("a shipped config: ")[1].split(" (in ")[0]
    assert listed.split(", ") == config_names(command)
    with pytest.raises(SystemExit) as stop:
        main(["--config", config_names(command)[0], "--threads", "-1"])
    assert stop.value.code == 2
    assert capsys.readouterr().err.splitlines()[-1].endswith("argument --threads: -1: must be >= 0 (0: torch's default)")
