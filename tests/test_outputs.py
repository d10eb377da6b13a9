"""Outputs checked first: a refused output path or a disk too small for what a command will write
ends it before any work, and a failed write leaves no temporary file and names its path."""

import argparse
import errno
import os
import shutil
import subprocess
import sys
import types

import pytest

from semcom_phy.data.fashion_mnist import DEFAULT_ROOT
from semcom_phy.experiments import commands, config as C, sizes
from semcom_phy.experiments.cli import check_outputs
from semcom_phy.io import WriteError, atomic_write
from semcom_phy.phy.frame import frame_length_samples

needs_data = pytest.mark.skipif(not DEFAULT_ROOT.exists(), reason="Debian package dataset-fashion-mnist not installed")


def no_space(*args, **kwargs):
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


@pytest.fixture
def full_disk(monkeypatch):
    """Every rename into place fails as on a full disk."""
    monkeypatch.setattr(os, "replace", no_space)


@pytest.fixture
def small_disk(monkeypatch):
    """The disk reports 1000 bytes free."""
    monkeypatch.setattr(shutil, "disk_usage", lambda path: types.SimpleNamespace(total=10 ** 9, used=0, free=1000))


def refusal(capsys, call) -> str:
    """The stderr of ``call()``, which must end the command with exit status 2."""
    with pytest.raises(SystemExit) as exit_:
        call()
    assert exit_.value.code == 2
    return capsys.readouterr().err


def test_a_failed_write_leaves_no_temporary_file_and_names_the_path(tmp_path, full_disk):
    target = tmp_path / "results.json"
    target.write_text("earlier")
    with pytest.raises(OSError) as err:
        atomic_write(target, "new")
    assert isinstance(err.value, WriteError) and err.value.errno == errno.ENOSPC
    assert str(err.value) == f"could not write {target}: No space left on device"
    assert [p.name for p in tmp_path.iterdir()] == ["results.json"] and target.read_text() == "earlier"


def test_a_write_into_a_missing_folder_names_the_file(tmp_path):
    target = tmp_path / "gone" / "config.yaml"
    with pytest.raises(WriteError, match=f"could not write {target}: No such file or directory") as err:
        atomic_write(target, "x")
    assert err.value.errno == errno.ENOENT and list(tmp_path.iterdir()) == []


def test_check_outputs_refuses_a_folder_its_disk_cannot_hold(tmp_path, capsys):
    ap = argparse.ArgumentParser()
    free = shutil.disk_usage(tmp_path).free
    check_outputs(ap, tmp_path / "new", need_bytes=free // 2)                    # fits: no error
    err = refusal(capsys, lambda: check_outputs(ap, tmp_path / "new", need_bytes=10 ** 18))
    assert f"--out {tmp_path / 'new'}: " in err and " free on its disk, the command will write about " \
        "1000000000.0 GB (an estimate)" in err
    assert not (tmp_path / "new").exists()


def test_check_outputs_refuses_a_folder_under_a_file(tmp_path, capsys):
    (tmp_path / "FILE").write_text("x")
    err = refusal(capsys, lambda: check_outputs(argparse.ArgumentParser(), tmp_path / "FILE" / "sub", flag="--record"))
    assert f"--record {tmp_path / 'FILE' / 'sub'}: {tmp_path / 'FILE'} is not a writable folder" in err


def test_the_recording_estimate_grows_with_images_and_runs():
    one = C.LoopbackConfig(num_images=10, snr_db=(0.0,))
    six = C.LoopbackConfig(num_images=20, snr_db=(0.0, 5.0, 10.0))
    link = one.link
    per_image = frame_length_samples(link.ofdm, 0, sizes.codec_symbols("codec")) + link.modem.gap_samples
    tail = sizes.stream_samples(one) - 10 * per_image                             # the last gap and the flush
    assert sizes.codec_symbols("codec") == 128 and 0 < tail < per_image
    assert sizes.stream_samples(six) == 20 * per_image + tail
    assert sizes.recording_bytes(six) == pytest.approx(1.1 * 3 * 2 * 8 * (20 * per_image + tail), abs=1)
    sweep = C.RecordConfig(loopback=six, channels=("awgn", "multipath"), attacks=("none", "jamming"))
    assert sizes.record_bytes(sweep) == pytest.approx(4 * sizes.recording_bytes(six), abs=4)
    air = C.LoopbackConfig(num_images=10, transport=C.TransportConfig(kind="pluto"))
    assert sizes.recording_bytes(air) == sizes.recording_bytes(one)              # one run over radios


def test_record_is_refused_before_any_work_when_the_disk_is_too_small(tmp_path, capsys, small_disk):
    out = tmp_path / "data"
    err = refusal(capsys, lambda: commands.record_main(["--out", str(out), "--num-images", "256", "--snr", "0", "10"]))
    need = sizes.record_bytes(C.RecordConfig(loopback=C.LoopbackConfig(num_images=256, snr_db=(0.0, 10.0))))
    assert f"--out {out}: 1000 bytes free on its disk, the command will write about {need / 1e6:.1f} MB" in err
    assert not out.exists()


def test_loopback_record_is_refused_when_the_disk_is_too_small(tmp_path, capsys, small_disk):
    rec = tmp_path / "rec"
    err = refusal(capsys, lambda: commands.loopback_main(["--record", str(rec), "--out", str(tmp_path / "runs")]))
    assert f"--record {rec}: 1000 bytes free on its disk" in err
    assert not rec.exists() and not (tmp_path / "runs").exists()


def test_loopback_without_record_needs_no_space_check(tmp_path, capsys, small_disk, monkeypatch):
    def run_loopback(cfg, **kwargs):
        raise ValueError("stop here")

    monkeypatch.setattr(sizes, "recording_bytes", lambda *a: pytest.fail("estimated without --record"))
    monkeypatch.setattr("semcom_phy.experiments.loopback.run_loopback", run_loopback)
    assert commands.loopback_main(["--out", str(tmp_path / "runs")]) == 2
    assert "error: stop here" in capsys.readouterr().err


@needs_data
def test_the_estimate_covers_a_real_recording(tmp_path):
    cfg = C.LoopbackConfig(num_images=20, chunk_images=8, snr_db=(10.0,), device="cpu", record=str(tmp_path / "rec"))
    assert commands.loopback_main(["--num-images", "20", "--chunk-images", "8", "--snr", "10", "--device", "cpu",
                                   "--no-plot", "--record", cfg.record, "--out", str(tmp_path / "runs")]) == 0
    files = list((tmp_path / "rec").iterdir())
    data = sum(p.stat().st_size for p in files if p.suffix == ".sigmf-data")
    assert data == 2 * 8 * sizes.stream_samples(cfg)                             # the samples: exact
    assert sum(p.stat().st_size for p in files) <= sizes.recording_bytes(cfg)    # with the metadata: within 10 %


@needs_data
def test_loopback_reports_a_failed_save_in_one_line(tmp_path, capsys, full_disk):
    rc = commands.loopback_main(["--num-images", "2", "--snr", "20", "--device", "cpu", "--no-plot",
                                 "--out", str(tmp_path / "runs")])
    err = capsys.readouterr().err
    (run,) = (tmp_path / "runs").iterdir()
    assert rc == 2 and f"error: could not write {run / 'config.yaml'}: No space left on device" in err
    assert "Traceback" not in err and list(run.iterdir()) == []


def test_evaluate_reports_a_failed_write_in_one_line(tmp_path, capsys, full_disk):
    from semcom_phy.evaluation.cli import main

    rc = main(["--config", "quick", "--out", str(tmp_path), "--device", "cpu"])
    err = capsys.readouterr().err
    assert rc == 2 and f"error: could not write {tmp_path / 'config.yaml'}: No space left on device" in err
    assert list(tmp_path.iterdir()) == []


def test_the_space_check_imports_no_torch(tmp_path):
    code = ("import shutil, sys, types\n"
            "shutil.disk_usage = lambda path: types.SimpleNamespace(total=1, used=0, free=1000)\n"
            "from semcom_phy.experiments.commands import record_main\n"
            "try:\n    record_main(sys.argv[1:])\nexcept SystemExit as stop:\n"
            "    print(stop.code, 'torch' in sys.modules)\n")
    res = subprocess.run([sys.executable, "-c", code, "--out", str(tmp_path / "data")], capture_output=True,
                         text=True, timeout=120)
    assert res.stdout.split() == ["2", "False"] and "1000 bytes free on its disk" in res.stderr
