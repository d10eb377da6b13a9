#!/usr/bin/env python3
"""Robustness evaluation: channel x SNR x defense x attack x budget, over seeds (``--help``).

A thin command line over :mod:`semcom_phy.evaluation`.
"""

import sys

from semcom_phy.evaluation.cli import main

if __name__ == "__main__":
    sys.exit(main())
