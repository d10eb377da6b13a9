"""``python -m semcom_phy <command> [options]``: the experiments without a checkout's scripts
(``loopback``, ``record``, ``ota``, ``replay``, ``compare``; ``<command> --help`` for each)."""

import sys

from .experiments.commands import COMMANDS


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] not in COMMANDS:
        print(f"usage: python -m semcom_phy {{{','.join(COMMANDS)}}} [options]   (<command> --help for each)",
              file=sys.stderr)
        return 0 if argv and argv[0] in ("-h", "--help") else 2
    return COMMANDS[argv[0]](argv[1:])


if __name__ == "__main__":
    sys.exit(main())
