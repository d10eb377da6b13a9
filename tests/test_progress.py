"""semcom_phy.progress: a tqdm bar on a terminal, a bounded number of plain lines elsewhere,
nothing when switched off; the tqdm interface works in every mode."""

import io
import subprocess
import sys

import pytest
from tqdm import tqdm

from semcom_phy.progress import ENV, progress


class Terminal(io.StringIO):
    def isatty(self):
        return True


@pytest.fixture(autouse=True)
def auto_mode(monkeypatch):
    monkeypatch.delenv(ENV, raising=False)


def lines(stream):
    return stream.getvalue().splitlines()


def test_a_log_gets_a_bounded_number_of_lines():
    out = io.StringIO()
    with progress(total=10_000, desc="loopback awgn", unit="run", file=out) as bar:
        for i in range(10_000):
            bar.update(1)
            bar.set_postfix(loss=0.5)
    got = lines(out)
    # start, 25/50/75 %, end (every_s is 30 s: no time-driven line in this test)
    assert len(got) == 5, got
    assert got[0].startswith("loopback awgn: 0/10000 run (0%)")
    assert got[2].startswith("loopback awgn: 5000/10000 run (50%)") and "left" in got[2]
    assert got[-1].startswith("loopback awgn: 10000/10000 run (100%)") and "done" in got[-1]
    assert got[-1].endswith("loss=0.5")


def test_iteration_counts_and_closes():
    out = io.StringIO()
    seen = list(progress(range(5), desc="x", unit="run", file=out))
    assert seen == list(range(5))
    got = lines(out)
    assert got[0].startswith("x: 0/5 run (0%)") and got[-1].startswith("x: 5/5 run (100%)")
    assert len(got) <= 5


def test_time_driven_lines_are_at_most_one_per_every_s():
    out = io.StringIO()
    bar = progress(desc="noise", file=out, every_s=0.0)           # every update is due
    for _ in range(3):
        bar.update(2)
    bar.close()
    bar.close()                                                   # closing twice writes one end line
    got = lines(out)
    assert len(got) == 5 and got[1].startswith("noise: 2 it,") and got[-1].startswith("noise: 6 it,")
    assert "done" in got[-1]


def test_a_terminal_gets_a_tqdm_bar():
    term = Terminal()
    bar = progress(range(3), desc="bar", file=term)
    assert isinstance(bar, tqdm)
    assert list(bar) == [0, 1, 2]
    assert "bar" in term.getvalue()


@pytest.mark.parametrize("mode, kind", [("lines", "lines"), ("bar", "bar"), ("off", "off")])
def test_the_environment_overrides_the_stream(monkeypatch, mode, kind):
    monkeypatch.setenv(ENV, mode)
    term = Terminal()
    bar = progress(range(3), desc="env", file=term)
    assert list(bar) == [0, 1, 2]
    if kind == "bar":
        assert isinstance(bar, tqdm)
    elif kind == "lines":
        assert not isinstance(bar, tqdm) and lines(term)[-1].startswith("env: 3/3 it (100%)")
    else:
        assert term.getvalue() == ""


def test_off_and_disable_write_nothing_but_keep_the_interface(monkeypatch):
    for kwargs in ({"disable": True}, {}):
        if not kwargs:
            monkeypatch.setenv(ENV, "off")
        out = io.StringIO()
        with progress(total=4, file=out, **kwargs) as bar:
            bar.update(3)
            bar.set_postfix({"a": 1}, b="x")
            bar.set_postfix_str("free text")
            bar.set_description("renamed")
        assert bar.n == 3 and bar.closed
        assert out.getvalue() == ""


def test_postfix_and_write():
    out = io.StringIO()
    bar = progress(total=2, desc="p", file=out)
    bar.set_postfix({"a": 1}, b=0.123456)
    bar.update(2)
    bar.close()
    assert lines(out)[-1].endswith("a=1, b=0.1235")
    bar.set_postfix_str("loss 3")
    assert bar.postfix == "loss 3"
    msg = io.StringIO()
    bar.write("a result", file=msg)
    assert msg.getvalue() == "a result\n"


def test_an_unknown_mode_warns_and_falls_back(monkeypatch):
    monkeypatch.setenv(ENV, "fancy")
    out = io.StringIO()
    with pytest.warns(UserWarning, match=ENV):
        bar = progress(range(2), file=out)
    list(bar)
    assert lines(out)[-1].startswith("2/2 it (100%)")


def test_tqdm_is_imported_only_for_a_bar():
    code = ("import io, sys; from semcom_phy.progress import progress; "
            "list(progress(range(3), file=io.StringIO())); print('tqdm' in sys.modules)")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert res.stdout.strip() == "False", res.stderr
