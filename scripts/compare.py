#!/usr/bin/env python3
"""Compare loopback runs: their curves in one plot, their numbers side by side (``--help``).

A thin command line over :mod:`semcom_phy.experiments` (also ``python -m semcom_phy compare``).
"""

import sys

from semcom_phy.experiments.commands import compare_main

if __name__ == "__main__":
    sys.exit(compare_main())
