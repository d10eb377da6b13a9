"""scripts/bench_link.py honours its JSON contract (a smoke run: the numbers are the benchmark's)."""

import json

import pytest

from semcom_phy.data.fashion_mnist import DEFAULT_ROOT
from semcom_phy.transport.zmq import gnuradio_available

REASON = gnuradio_available()


@pytest.mark.gnuradio
@pytest.mark.skipif(REASON is not None, reason=str(REASON))
@pytest.mark.skipif(not DEFAULT_ROOT.exists(), reason="Debian package dataset-fashion-mnist not installed")
def test_bench_link_writes_the_contracted_json_and_checks_every_sample(run_script, tmp_path):
    res = run_script("scripts/bench_link.py",
                     "--samples", "1000000", "--images", "16", "--json", str(tmp_path / "b.json"))
    assert res.returncode == 0, res.stdout + res.stderr
    doc = json.loads((tmp_path / "b.json").read_text())
    assert doc["transport_msps"] > 0 and doc["raw_zmq_msps"] > 0
    assert doc["transport_vs_raw_zmq"] == pytest.approx(doc["transport_msps"] / doc["raw_zmq_msps"])
    assert set(doc["images_per_s"]) == {"sim", "gnuradio"}
    rec = doc["recording_overhead"]
    assert rec["overhead"] == pytest.approx(rec["recorded_s"] / rec["plain_s"] - 1) and rec["plain_s"] > 0
    for run in (doc["transport"], doc["raw_zmq"]):
        assert run["mismatched"] == 0 and run["returned"] == run["expected_back"]
