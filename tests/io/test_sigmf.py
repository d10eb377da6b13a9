"""SigMF recordings: valid, checksummed, atomic; a damaged file is reported, never decoded."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from semcom_phy.io.sigmf_io import LinkRecorder, Recording, RecordingError, open_recording

VALIDATE = Path(sys.executable).with_name("sigmf_validate")


def _record(base, n=1000):
    r = Recording(base, 2e6, 2.4e9, "test", config={"run": 1}, weights={"codec": "ab" * 32})
    iq = (np.arange(n) + 1j * np.arange(n)[::-1]).astype(np.complex64)
    r.write(iq[:400])
    r.write(iq[400:])
    r.annotate(10, 100, "frame 0", seq=0, images=np.array([3, 7]), snr_db=10.0)
    return r.close(), iq


def test_a_recording_validates_and_reads_back_what_was_written(tmp_path):
    meta, iq = _record(tmp_path / "a")
    res = subprocess.run([str(VALIDATE), str(meta)], capture_output=True, text=True)
    assert res.returncode == 0, res.stdout + res.stderr
    rec = open_recording(meta)
    np.testing.assert_array_equal(rec.read_samples(), iq)
    (ann,) = rec.get_annotations()
    assert (ann["core:sample_start"], ann["core:sample_count"], ann["semcom:images"]) == (10, 100, [3, 7])
    assert rec.get_global_field("semcom:weights")["codec"] == "ab" * 32
    assert rec.get_global_field("core:extensions")[0]["name"] == "semcom"
    assert rec.get_captures()[0]["core:frequency"] == 2.4e9 and "core:datetime" in rec.get_captures()[0]


@pytest.mark.parametrize("damage, message", [
    (lambda b: b[:-3], "not whole cf32_le samples"),
    (lambda b: b[:-8], "SHA-512 does not match"),
    (lambda b: b[:100] + bytes([b[100] ^ 1]) + b[101:], "SHA-512 does not match"),
])
def test_truncated_or_modified_data_is_reported(tmp_path, damage, message):
    meta, _ = _record(tmp_path / "a")
    data = meta.with_suffix(".sigmf-data")
    data.write_bytes(damage(data.read_bytes()))
    with pytest.raises(RecordingError, match=message):
        open_recording(meta)


def test_an_interrupted_recording_leaves_no_file_behind(tmp_path):
    with pytest.raises(KeyboardInterrupt):
        with LinkRecorder(tmp_path / "run", 2e6) as rec:
            rec.tx.write(np.ones(10, np.complex64))
            raise KeyboardInterrupt
    assert list(tmp_path.iterdir()) == []
    with LinkRecorder(tmp_path / "run", 2e6) as rec:
        rec.rx.write(np.ones(10, np.complex64))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run-rx.sigmf-data", "run-rx.sigmf-meta",
                                                          "run-tx.sigmf-data", "run-tx.sigmf-meta"]


def test_metadata_that_fails_sigmf_validation_is_refused_and_nothing_is_kept(tmp_path):
    r = Recording(tmp_path / "a", 2e6)
    r.write(np.ones(100, np.complex64))
    for start in range(0, 100, 10):
        r.annotate(start, 10, seq=start)
    r.annotate(50, 10, 7, seq=50)                          # a label that is not a string
    with pytest.raises(RecordingError, match="fails SigMF validation.*not of type 'string'"):
        r.close()
    assert list(tmp_path.iterdir()) == []
