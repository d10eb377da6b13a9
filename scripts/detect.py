#!/usr/bin/env python3
"""Attack detection from the diffusion models' residuals (``--help``).

A thin command line over :mod:`semcom_phy.detect`.
"""

import sys

from semcom_phy.detect.cli import main

if __name__ == "__main__":
    sys.exit(main())
