"""The README's Python examples run as they are written."""

import re
from pathlib import Path

import pytest

from semcom_phy.data.fashion_mnist import DEFAULT_ROOT

README = Path(__file__).resolve().parents[1] / "README.md"


def python_blocks() -> list[str]:
    section = README.read_text().split("## Python API", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```python\n(.*?)```", section, re.S)


@pytest.mark.skipif(not DEFAULT_ROOT.exists(), reason="Debian package dataset-fashion-mnist not installed")
@pytest.mark.parametrize("i", range(2))
def test_the_readme_api_example_runs_verbatim(i, capsys):
    blocks = python_blocks()
    assert len(blocks) == 2 and len(blocks[0].strip().splitlines()) <= 6
    namespace: dict = {}
    exec(compile(blocks[i], f"README.md python block {i + 1}", "exec"), namespace)
    printed = capsys.readouterr().out
    if i == 0:
        out, images, labels = namespace["out"], namespace["images"], namespace["labels"]
        assert out.frames_received == len(images) == 32
        m = out.metrics(images, labels)
        assert "'accuracy'" in printed and m["accuracy"] > 0.5 and m["psnr_db"] > 15
    else:
        assert len(namespace["result"].rows) == 2 and "SNR dB" in printed
