"""semcom_phy.resources: the shipped flowgraphs, presets, configs and weights, by name or path."""

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from semcom_phy import resources

PACKAGE = Path(__file__).resolve().parents[1] / "semcom_phy"


def test_folders_are_the_package_folders():
    assert resources.package_dir() == PACKAGE
    assert resources.flowgraph_dir() == PACKAGE / "flowgraphs"
    assert resources.weights_dir() == PACKAGE / "weights"
    assert (resources.weights_dir() / "codec.json").is_file()


def test_the_transport_and_the_weights_use_them():
    from semcom_phy.semantic.paths import WEIGHTS_DIR
    from semcom_phy.transport.zmq import FLOWGRAPH_DIR

    assert FLOWGRAPH_DIR == resources.flowgraph_dir()
    assert WEIGHTS_DIR == resources.weights_dir()


@pytest.mark.parametrize("name", ["channel_emulator", "monitor", "pluto_txrx", "semantic_emulator", "semantic_soapy", "soapy_txrx", "uhd_txrx"])
def test_flowgraph_by_name(name):
    path = resources.flowgraph(name)
    assert path == PACKAGE / "flowgraphs" / f"{name}.py" and path.is_file()
    assert path.with_suffix(".grc").is_file()
    assert resources.flowgraph(f"{name}.py") == path


def test_an_unknown_flowgraph_names_the_shipped_ones():
    with pytest.raises(ValueError, match="flowgraphs: channel_emulator, monitor, pluto_txrx, semantic_emulator, "
                       "semantic_soapy, soapy_txrx, uhd_txrx$"):
        resources.flowgraph("moon")


def test_shipped_names():
    assert resources.preset_names() == ["cable", "hackrf", "ism-2.4", "usrp-b200", "virtual"]
    assert resources.config_names() == ["certify_compare", "certify_curves", "certify_n10k", "certify_paper", "certify_quick", "certify_sigmas", "detect_quick", "paper", "quick", "scrambling"]


def test_config_names_per_script():
    """Each script's --help lists its own configs: every shipped config belongs to exactly one."""
    per = {c: resources.config_names(c) for c in ("evaluate", "certify", "detect")}
    assert per == {"evaluate": ["paper", "quick", "scrambling"], "detect": ["detect_quick"],
                   "certify": ["certify_compare", "certify_curves", "certify_n10k", "certify_paper", "certify_quick",
                               "certify_sigmas"]}
    with pytest.raises(ValueError, match="command 'train'.*allowed values"):
        resources.config_names("train")


@pytest.mark.parametrize("name", ["cable", "hackrf", "ism-2.4", "usrp-b200", "virtual"])
def test_a_preset_name_is_its_shipped_yaml(name):
    path = resources.preset_path(name)
    assert path == PACKAGE / "presets" / f"{name}.yaml"
    assert "description" in yaml.safe_load(path.read_text())


@pytest.mark.parametrize("name", ["quick", "paper", "certify_quick"])
def test_a_config_name_is_its_shipped_yaml(name):
    path = resources.config_path(name)
    assert path == PACKAGE / "configs" / f"{name}.yaml"
    assert yaml.safe_load(path.read_text())["name"]


@pytest.mark.parametrize("lookup", [resources.preset_path, resources.config_path])
def test_a_yaml_path_is_taken_as_given(lookup, tmp_path, monkeypatch):
    own = tmp_path / "mine.yaml"
    own.write_text("name: mine\n")
    assert lookup(own) == own
    assert lookup(str(own)) == own
    # a shipped name means the shipped file wherever one runs; ./NAME is a local file of that name
    monkeypatch.chdir(tmp_path)
    (tmp_path / "cable").write_text("name: local\n")
    (tmp_path / "quick").write_text("name: local\n")
    shipped = "cable" if lookup is resources.preset_path else "quick"
    assert lookup(shipped).parent.parent == PACKAGE
    assert lookup(f"./{shipped}") == Path(f"./{shipped}")


@pytest.mark.parametrize("lookup, names", [
    (resources.preset_path, "presets: cable, hackrf, ism-2.4, usrp-b200, virtual"),
    (resources.config_path, "configs: certify_compare, certify_curves, certify_n10k, certify_paper, certify_quick, certify_sigmas, detect_quick, paper, quick, scrambling"),
])
def test_neither_a_name_nor_a_file_names_the_shipped_ones(lookup, names, tmp_path):
    for bad in ["moon", str(tmp_path / "missing.yaml"), str(tmp_path)]:     # a folder is no YAML file either
        with pytest.raises(ValueError, match=names) as err:
            lookup(bad)
        assert repr(bad) in str(err.value)


def test_it_imports_without_torch():
    code = "import sys, semcom_phy.resources as r; r.preset_names(); print('torch' in sys.modules)"
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "False"
