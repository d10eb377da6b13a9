#!/usr/bin/env python3
"""Semantic loopback: test images through the OFDM link and back, by SNR (``--help``).

A thin command line over :mod:`semcom_phy.experiments` (also ``python -m semcom_phy loopback``).
"""

import sys

from semcom_phy.experiments.commands import loopback_main

if __name__ == "__main__":
    sys.exit(loopback_main())
