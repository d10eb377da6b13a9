"""The top-level API: every exported name resolves, and importing the package (or its configs)
loads no torch."""

import subprocess
import sys

import semcom_phy


def test_every_exported_name_resolves():
    for name in semcom_phy.__all__:
        assert getattr(semcom_phy, name) is not None, name
    assert semcom_phy.Link.from_config and semcom_phy.transports.sim and semcom_phy.experiments.run_loopback


def test_the_package_and_its_configs_import_without_torch():
    code = ("import sys, semcom_phy\n"
            "from semcom_phy import LinkConfig, LoopbackConfig, DefenseConfig, AttackConfig, PlutoConfig, transports\n"
            "LoopbackConfig(link=LinkConfig(defense='latent'))\n"
            "assert 'torch' not in sys.modules, sorted(m for m in sys.modules if m.startswith('torch'))[:3]\n")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
