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
    res = run_script("scripts/bench_link.py", "--samples", "1000000", "--images", "16", "--air-s", "0.1",
                     "--json", str(tmp_path / "b.json"))
    assert res.returncode == 0, res.stdout + res.stderr
    doc = json.loads((tmp_path / "b.json").read_text())
    assert doc["transport_msps"] > 0 and doc["raw_zmq_msps"] > 0
    assert doc["transport_vs_raw_zmq"] == pytest.approx(doc["transport_msps"] / doc["raw_zmq_msps"])
    assert set(doc["images_per_s"]) == {"sim", "gnuradio", "flowgraph", "flowgraph_vs_gnuradio"}
    rec = doc["recording_overhead"]
    assert rec["overhead"] == pytest.approx(rec["recorded_s"] / rec["plain_s"] - 1) and rec["plain_s"] > 0
    for run in (doc["transport"], doc["raw_zmq"]):
        assert run["mismatched"] == 0 and run["returned"] == run["expected_back"]
    assert doc["receive_path"]["x_real_time"] > 0


@pytest.mark.skipif(not DEFAULT_ROOT.exists(), reason="Debian package dataset-fashion-mnist not installed")
def test_bench_receive_path_reports_each_stage_and_the_pipeline_equals_the_batch_receiver(run_script, tmp_path):
    res = run_script("scripts/bench_link.py", "--receive-path-only", "--air-s", "0.1", "--json", str(tmp_path / "r.json"))
    assert res.returncode == 0, res.stdout + res.stderr
    rp = json.loads((tmp_path / "r.json").read_text())["receive_path"]
    assert rp["latency_ms"] == pytest.approx(2**16 / 2e6 * 1e3) and 150 <= rp["images"] <= 200 and rp["air_s"] >= 0.1
    assert rp["x_real_time"] == pytest.approx(rp["complete"]["default"]["x_real_time"])
    assert rp["phy_x_real_time_cpu"] == rp["phy"][str(2**16)]["x_real_time_cpu"] > 0
    assert {"float32", "bfloat16"} == set(rp["decoder"]) and rp["decoder_x_real_time_cpu"] > 0
    assert {"default", "decoder_threads_1", "bfloat16", "batch_16ms", "batch_49ms", "paced", "paced_bfloat16"} == set(rp["complete"])
    for run in rp["complete"].values():
        assert run["equals_batch_receiver"] and run["frames_received"] == rp["images"]
    assert rp["complete"]["paced"]["lag_ms"] > 0
    assert abs(rp["bfloat16_vs_float32"]["accuracy"]) <= 0.05
