"""The `ruralcast-terminal` command. Subcommands are added here as the agent grows."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from ruralcast_terminal import __version__


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ruralcast-terminal", description="ruralcast village terminal")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands.add_parser("version", help="print the version and exit")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "version":
        print(f"ruralcast-terminal {__version__}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
