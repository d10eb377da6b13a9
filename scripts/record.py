#!/usr/bin/env python3
"""Record an IQ dataset: loopback runs over a chosen link, TX and RX streams as SigMF (``--help``).

A thin command line over :mod:`semcom_phy.experiments` (also ``python -m semcom_phy record``).
"""

import sys

from semcom_phy.experiments.commands import record_main

if __name__ == "__main__":
    sys.exit(record_main())
