#!/usr/bin/env python3
"""Certified robustness of the smoothed receiver over the air (``--help``).

A thin command line over :mod:`semcom_phy.certify`.
"""

import sys

from semcom_phy.certify.cli import main

if __name__ == "__main__":
    sys.exit(main())
