"""semcom_phy.validation: each check accepts what is allowed and rejects the rest with a ValueError that
names the field, the value and what is allowed."""

import math
import re
import subprocess
import sys
from dataclasses import dataclass

import numpy as np
import pytest

from semcom_phy.validation import (
    check_bits,
    check_bool,
    check_choice,
    check_field,
    check_int,
    check_number,
    check_optional,
    check_psr,
    check_rng,
    check_seed,
)


@dataclass(frozen=True)
class Cfg:
    size: int = 64
    rate_hz: float = 2e6
    mode: str = "a"
    level_db: float | None = None


# --------------------------------------------------------------------------- check_number

@pytest.mark.parametrize("value, kwargs, expected", [
    (3, {}, 3.0),
    (2.5, dict(lo=0, hi=10), 2.5),
    (0.0, dict(lo=0.0), 0.0),
    (10, dict(lo=0, hi=10), 10.0),
    (np.float32(0.5), dict(lo=0, hi=1), 0.5),
    (np.int64(7), dict(lo=0, integer=True), 7),
    (-1e300, {}, -1e300),
])
def test_number_accepts_in_range_values(value, kwargs, expected):
    out = check_number(value, "x", **kwargs)
    assert out == expected and type(out) is (int if kwargs.get("integer") else float)


@pytest.mark.parametrize("value, kwargs, message", [
    (11, dict(lo=0, hi=10), "x = 11 is out of range: allowed [0, 10]"),
    (-0.5, dict(lo=0.0), "x = -0.5 is out of range: allowed [0, inf)"),
    (0.0, dict(lo=0.0, lo_open=True), "x = 0.0 is out of range: allowed (0, inf)"),
    (1.0, dict(lo=0.0, hi=1.0, hi_open=True), "x = 1.0 is out of range: allowed [0, 1)"),
    (5.0, dict(hi=1.0), "x = 5.0 is out of range: allowed (-inf, 1]"),
    (1 << 25, dict(lo=1024, hi=1 << 24, integer=True), "x = 33554432 is out of range: allowed [1024, 16777216]"),
    (2.5, dict(lo=1, hi=9, integer=True), "x = 2.5: must be an integer in [1, 9]"),
    (2.0, dict(integer=True), "x = 2.0: must be an integer"),
    (True, dict(lo=0, integer=True), "x = True: must be an integer in [0, inf)"),
    (np.bool_(True), dict(integer=True), "x = "),
    (True, {}, "x = True: must be a finite number"),
    ("3", dict(lo=0, hi=5), "x = '3': must be a finite number in [0, 5]"),
    (None, {}, "x = None: must be a finite number"),
    ([1.0], {}, "x = [1.0]: must be a finite number"),
    (np.array(1.0), {}, "x = array(1.): must be a finite number"),
    (1 + 2j, {}, "x = (1+2j): must be a finite number"),
    (math.nan, dict(lo=0, hi=1), "x = nan: must be a finite number in [0, 1]"),
    (math.inf, {}, "x = inf: must be a finite number"),
    (-math.inf, dict(lo=0), "x = -inf: must be a finite number"),
    (np.float64("nan"), {}, "must be a finite number"),
    (2 ** 1100, {}, "x = 1"),                      # an int too large for a float
])
def test_number_rejects_with_field_value_and_range(value, kwargs, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        check_number(value, "x", **kwargs)


def test_number_owner_unit_and_format():
    for owner in ("OfdmConfig", Cfg, Cfg()):
        with pytest.raises(ValueError, match=re.escape("fft_size = 3 is out of range: allowed [16, 4096]")) as err:
            check_number(3, "fft_size", 16, 4096, integer=True, owner=owner)
        assert str(err.value).startswith(("OfdmConfig.fft_size", "Cfg.fft_size"))
    with pytest.raises(ValueError, match=re.escape("lo_hz = 5.8e+09 is out of range: allowed [3.25e+08, 3.8e+09] "
                                                   "Hz for the AD9363")):
        check_number(5.8e9, "lo_hz", 325e6, 3.8e9, unit="Hz for the AD9363", fmt="g")


def test_int_and_seed():
    assert check_int(np.int32(4), "n", 1) == 4 and type(check_int(4, "n")) is int
    for bad, words in [(0, "n = 0 is out of range: allowed [1, inf)"), (1.0, "n = 1.0: must be an integer"),
                       (False, "n = False: must be an integer"), ("2", "n = '2': must be an integer")]:
        with pytest.raises(ValueError, match=re.escape(words)):
            check_int(bad, "n", 1)
    assert check_seed(0) == 0 and check_seed(2 ** 70) == 2 ** 70 and check_int(2 ** 1100, "n") == 2 ** 1100
    assert check_seed(0x7F, lo=1, hi=0x7F) == 127
    for bad in (-1, 1.5, True, None):
        with pytest.raises(ValueError, match="seed = "):
            check_seed(bad)
    with pytest.raises(ValueError, match=re.escape("seed = 128 is out of range: allowed [1, 127]")):
        check_seed(128, lo=1, hi=127)


def test_optional():
    assert check_optional(None, "x", 0, 1) is None
    assert check_optional(0.5, "x", 0, 1) == 0.5
    with pytest.raises(ValueError, match=re.escape("Cfg.x = 2 is out of range: allowed [0, 1]")):
        check_optional(2, "x", 0, 1, owner=Cfg)
    with pytest.raises(ValueError, match="x = nan: must be a finite"):
        check_optional(math.nan, "x", 0, 1)


# --------------------------------------------------------------------------- choices and bools

def test_choice():
    assert check_choice("b", "mode", ("a", "b")) == "b"
    assert check_choice(2, "k", (1, 2)) == 2
    for bad in ("c", None, ["a"], np.array(["a", "b"]), 1):
        with pytest.raises(ValueError, match=re.escape(f"Cfg.mode = {bad!r}: allowed values are 'a', 'b'")):
            check_choice(bad, "mode", ("a", "b"), owner=Cfg)
    with pytest.raises(ValueError, match="allowed values are 1, 2"):
        check_choice(True, "k", (1, 2))               # a bool is not the number 1
    assert check_choice("x", "k", {"x": 1, "y": 2}) == "x"   # any iterable of choices


def test_bool():
    assert check_bool(True, "flag") is True and check_bool(np.bool_(False), "flag") is False
    for bad in (1, 0, "yes", None, np.array([True])):
        with pytest.raises(ValueError, match=re.escape(f"VirtualAir.flag = {bad!r}: allowed True or False")):
            check_bool(bad, "flag", owner="VirtualAir")


# --------------------------------------------------------------------------- PSR, bits, rng

def test_psr():
    assert check_psr(-10) == -10.0 and check_psr(-math.inf) == -math.inf and check_psr(np.float32(3.0)) == 3.0
    for bad, words in [(math.nan, "psr_db = nan is out of range: allowed [-inf, inf) dB"),
                       (math.inf, "psr_db = inf is out of range"),
                       ("-10", "psr_db = '-10': must be a number in dB"),
                       (True, "psr_db = True: must be a number"), (None, "psr_db = None")]:
        with pytest.raises(ValueError, match=re.escape(words)):
            check_psr(bad)
    with pytest.raises(ValueError, match="budget = nan"):
        check_psr(math.nan, "budget")


def test_bits():
    out = check_bits([0, 1, 1])
    assert out.dtype.kind == "i" and out.tolist() == [0, 1, 1]
    b = check_bits(np.array([[True, False]]))
    assert b.dtype == np.uint8 and b.tolist() == [[1, 0]]
    assert check_bits(np.zeros((2, 0), np.uint8)).shape == (2, 0)
    for bad, words in [([0, 2], "bits must contain only the values 0 and 1"), ([-1], "0 and 1"),
                       ([0.0, 1.0], "bits must be an integer array of 0/1 values, got dtype float64"),
                       (["0"], "got dtype <U1"), (np.uint8(1), "bits must have at least one axis")]:
        with pytest.raises(ValueError, match=re.escape(words)):
            check_bits(bad)
    with pytest.raises(ValueError, match="coded must"):
        check_bits([3], "coded")


def test_rng():
    rng = np.random.default_rng(0)
    assert check_rng(rng) is rng
    for bad in (0, None, np.random.RandomState(0)):
        with pytest.raises(ValueError, match="rng = .*: must be a numpy.random.Generator"):
            check_rng(bad)


# --------------------------------------------------------------------------- check_field

def test_field_reads_the_attribute_and_names_the_class():
    cfg = Cfg()
    assert check_field(cfg, "size", 16, 4096, integer=True) == 64
    assert check_field(cfg, "mode", choices=("a", "b")) == "a"
    assert check_field(cfg, "level_db", -120, 0, optional=True) is None
    with pytest.raises(ValueError, match=re.escape("Cfg.size = 8 is out of range: allowed [16, 4096]")):
        check_field(Cfg(size=8), "size", 16, 4096, integer=True)
    with pytest.raises(ValueError, match=re.escape("Cfg.size = 64.0: must be an integer in [16, 4096]")):
        check_field(Cfg(size=64.0), "size", 16, 4096, integer=True)
    with pytest.raises(ValueError, match=re.escape("Cfg.mode = 'z': allowed values are 'a', 'b'")):
        check_field(Cfg(mode="z"), "mode", choices=("a", "b"))
    with pytest.raises(ValueError, match=re.escape("Cfg.level_db = 3.0 is out of range: allowed [-120, 0]")):
        check_field(Cfg(level_db=3.0), "level_db", -120.0, 0.0, optional=True)
    with pytest.raises(ValueError, match=re.escape("Cfg.rate_hz = 'fast': must be a finite number")):
        check_field(Cfg(rate_hz="fast"), "rate_hz", 1e3, 1e9)


def test_imports_fast_without_torch_or_numpy():
    code = ("import sys, time; t = time.perf_counter(); import semcom_phy.validation; "
            "print(time.perf_counter() - t, 'torch' in sys.modules, 'numpy' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert float(out[0]) < 0.05 and out[1:] == ["False", "False"]
