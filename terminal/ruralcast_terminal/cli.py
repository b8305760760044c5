"""The `ruralcast-terminal` command: `version`, `agent --config FILE`, `provision FILE`, `simulate …`,
`conformance …` (the kit, docs/protocols.md "Conformance") and `conformance-key DIR`."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from ruralcast_terminal import __version__


def build_parser() -> argparse.ArgumentParser:
    from ruralcast_terminal.simulate import add_arguments

    parser = argparse.ArgumentParser(prog="ruralcast-terminal", description="ruralcast village terminal")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands.add_parser("version", help="print the version and exit")
    agent = commands.add_parser("agent", help="run the terminal agent of one device")
    agent.add_argument(
        "--config", type=Path, required=True, help="provisioning file (JSON, or TOML if it ends in .toml)"
    )
    agent.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    provision = commands.add_parser(
        "provision", help="install a provisioning file (or its QR text) and check it against the broker"
    )
    provision.add_argument("file", help="the provisioning JSON, a file with its RCP1: QR text, or - for stdin")
    provision.add_argument("--dir", help="where to keep it (default /var/lib/ruralcast-terminal as root)")
    provision.add_argument("--no-check", action="store_true", help="do not try the credentials on the broker")
    provision.add_argument("--run", action="store_true", help="start the agent afterwards")
    simulate = commands.add_parser("simulate", help="run many virtual terminals against a broker")
    add_arguments(simulate)
    from ruralcast_terminal.conformance import add_arguments as conformance_arguments

    conformance = commands.add_parser(
        "conformance", help="play the platform's side against a terminal and report each rule (docs/protocols.md)"
    )
    conformance_arguments(conformance)
    key = commands.add_parser("conformance-key", help="write a test platform key and the trust list holding it")
    key.add_argument("dir", type=Path, help="where to write platform-key.json and trust.json")
    key.add_argument("--alg", default="Ed25519", choices=["Ed25519", "SM2-SM3"])
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "version":
        print(f"ruralcast-terminal {__version__}")
    elif args.command == "agent":
        from ruralcast_terminal.agent import AgentConfig, agent_run

        logging.basicConfig(level=args.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        try:
            config = AgentConfig.load(args.config)
        except (OSError, ValueError) as exc:
            print(f"ruralcast-terminal agent: cannot use {args.config}: {exc}", file=sys.stderr)
            return 2
        asyncio.run(agent_run(config))
    elif args.command == "provision":
        from ruralcast_terminal.provision import provision_main

        logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        return provision_main(args)
    elif args.command == "conformance":
        from ruralcast_terminal.conformance import conformance_main
        from ruralcast_terminal.conformance_rules import RULES

        return conformance_main(args, RULES)
    elif args.command == "conformance-key":
        from ruralcast_terminal.conformance import key_write

        key_path, trust_path = key_write(args.dir, alg=args.alg)
        print(f"key: {key_path}\ntrust list to provision the terminal with: {trust_path}")
    elif args.command == "simulate":
        from ruralcast_terminal.simulate import simulate_main

        try:
            return simulate_main(args)
        except (OSError, ValueError) as exc:
            print(f"ruralcast-terminal simulate: {exc}", file=sys.stderr)
            return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
