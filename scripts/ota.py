#!/usr/bin/env python3
"""Over the air: the semantic loopback through PlutoSDR radios, from a hardware preset (``--help``).

A thin command line over :mod:`semcom_phy.experiments` (also ``python -m semcom_phy ota``).
"""

import sys

from semcom_phy.experiments.commands import ota_main

if __name__ == "__main__":
    sys.exit(ota_main())
