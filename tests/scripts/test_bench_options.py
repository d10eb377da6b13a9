"""Benchmark sizes are checked: 0 and negative values are refused with the allowed range, never
read as "the default" (and bounded, the bound named)."""

import pytest


@pytest.mark.parametrize("script, args, message", [
    ("scripts/bench_purify.py", ["--num-images", "0"], "argument --num-images: 0 is out of range: allowed [1, 10000]"),
    ("scripts/bench_purify.py", ["--nfe", "4", "0"], "argument --nfe: 0 is out of range: allowed [1, 100]"),
    ("scripts/bench_purify.py", ["--repeats", "-1"], "argument --repeats: -1 is out of range"),
    ("scripts/bench_link.py", ["--samples", "0"], "argument --samples: 0 is out of range: allowed [1, 1000000000]"),
    ("scripts/bench_link.py", ["--samples", "1e12"], "argument --samples: '1e12' is not an integer"),
    ("scripts/bench_link.py", ["--air-s", "0"], "argument --air-s: 0.0 is out of range: allowed [0.01, 3600]"),
    ("scripts/bench_evaluate.py", ["--num-images", "0"], "argument --num-images: 0 is out of range"),
    ("scripts/bench_memory.py", ["--sizes", "1000", "0"], "argument --sizes: 0 is out of range: allowed [1, 1000000]"),
    ("scripts/bench_memory.py", ["--chunk-images", "70000"], "argument --chunk-images: 70000 is out of range"),
])
def test_bad_bench_sizes_exit_2_naming_the_range(run_script, script, args, message):
    res = run_script(script, *args, timeout=60)
    assert res.returncode == 2 and message in res.stderr and "Traceback" not in res.stderr
