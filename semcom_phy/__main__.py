"""``python -m semcom_phy <command> [options]``: the experiments without a checkout's scripts
(``loopback``, ``record``, ``ota``, ``replay``, ``compare``; ``<command> --help`` for each)."""

import sys

from .experiments.commands import COMMANDS
from .io.signals import end_quietly


def main(argv=None) -> int:
    program, argv = argv is None, sys.argv[1:] if argv is None else argv
    if not argv or argv[0] not in COMMANDS:
        print(f"usage: python -m semcom_phy {{{','.join(COMMANDS)}}} [options]   (<command> --help for each)",
              file=sys.stderr)
        return 0 if argv and argv[0] in ("-h", "--help") else 2
    status = None
    try:
        status = COMMANDS[argv[0]](argv[1:])
        return status
    finally:
        if program:
            end_quietly(status)          # the command is over: a late signal just ends the process


if __name__ == "__main__":
    sys.exit(main())
