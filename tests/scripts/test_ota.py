"""scripts/ota.py and hardware/check_pluto.py, run as users run them, over the virtual Pluto."""

import json

import pytest

from semcom_phy.data.fashion_mnist import DEFAULT_ROOT


@pytest.mark.skipif(not DEFAULT_ROOT.exists(), reason="Debian package dataset-fashion-mnist not installed")
def test_ota_runs_the_loopback_from_a_preset_and_options_win_over_it(run_script, tmp_path):
    res = run_script("scripts/ota.py", "--preset", "virtual", "--tx-attenuation-db", "20", "--num-images", "16",
               "--out", str(tmp_path), "--json", str(tmp_path / "r.json"), "--no-plot")
    assert res.returncode == 0, res.stderr
    doc = json.loads((tmp_path / "r.json").read_text())
    radio = doc["config"]["transport"]["radio"]
    assert (radio["tx_uri"], radio["lo_hz"], radio["tx_attenuation_db"]) == ("virtual:a", 2.44e9, 20.0)
    assert doc["results"][0]["frames_received"] == 16


@pytest.mark.parametrize("args, message", [
    (["--preset", "moon"], "presets: cable, hackrf, ism-2.4, usrp-b200, virtual"),
    (["--preset", "cable", "--uri", "usb:99.99.5", "--num-images", "4"], "no PlutoSDR answers at 'usb:99.99.5'"),
])
def test_ota_errors_are_one_clear_message(run_script, args, message, tmp_path):
    res = run_script("scripts/ota.py", *args, "--out", str(tmp_path))
    assert res.returncode == 2 and message in res.stderr and "Traceback" not in res.stderr


def test_check_pluto_reports_frames_snr_and_cfo_of_two_boards(run_script):
    res = run_script("hardware/check_pluto.py", "--tx-uri", "virtual:a", "--rx-uri", "virtual:b", "--uri", "virtual",
               "--frames", "20", "--calibrate")
    assert res.returncode == 0, res.stdout + res.stderr
    assert "20 of 20 frames back" in res.stdout and "+20.00 ppm of the LO" in res.stdout
    assert "xo_correction 40000000 -> 39999200 Hz" in res.stdout
    assert run_script("hardware/check_pluto.py", "--uri", "usb:99.99.5").returncode == 2


@pytest.mark.parametrize("text, message", [
    ("uri: virtual\nlo_hz: fast\n", "PlutoConfig.lo_hz = 'fast': must be a finite number"),
    ("uri: 5\n", "PlutoConfig.uri = 5: give a URI"),
    ("uri: virtual\nbogus: 1\n", "unknown key(s) ['bogus']"),
    ("- uri\n", "expected a mapping of PlutoConfig"),
    ("uri: virtual\nsample_rate_hz: 1e6\n", "sample_rate_hz = 1e6: the radios run at the OFDM grid's rate"),
])
def test_a_preset_with_wrong_values_is_one_clear_message(run_script, tmp_path, text, message):
    (tmp_path / "p.yaml").write_text(text)
    res = run_script("scripts/ota.py", "--preset", str(tmp_path / "p.yaml"), "--num-images", "4", "--out", str(tmp_path))
    assert res.returncode == 2 and message in res.stderr and "Traceback" not in res.stderr


@pytest.mark.parametrize("preset, link, message", [("usrp-b200", "uhd", "no USRP matches 'type=b200'"),
                                                   ("hackrf", "soapy", "soapysdr-module-hackrf")])
def test_a_soapy_or_uhd_preset_sets_its_link_and_fails_fast_without_the_radio(run_script, preset, link, message):
    res = run_script("scripts/ota.py", "--preset", preset, "--num-images", "4", "--no-plot", timeout=60)
    assert res.returncode == 2 and f"--link {link}" in res.stderr and message in res.stderr
    assert "Traceback" not in res.stderr
