#!/usr/bin/env python3
"""Replay recorded link runs offline with the metrics a live run prints (``--help``).

A thin command line over :mod:`semcom_phy.experiments` (also ``python -m semcom_phy replay``).
"""

import sys

from semcom_phy.experiments.commands import replay_main

if __name__ == "__main__":
    sys.exit(replay_main())
