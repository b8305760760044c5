"""`ruralcast-terminal provision FILE`: install a provisioning file on the device in one command.

FILE is the JSON the platform issued, or the text of its QR code (`RCP1:` + base64url of the
zlib-compressed JSON), or `-` to read either from standard input (a scanner typing the QR text).
The command checks the document (the same rules as `agent --config`), writes it to
`DIR/provisioning.json` (mode 0600, folder 0700; the cache beside it), tries the credentials
against the broker once (CONNECT/CONNACK; `--no-check` to skip, e.g. before the network is up),
and prints how to start the agent; `--run` starts it at once.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import os
import sys
import zlib
from pathlib import Path
from typing import Any

from ruralcast_terminal.agent import AgentConfig
from ruralcast_terminal.mqtt import Client, ConnectRefused, MQTTError

FORMAT = "ruralcast-provisioning"
QR_PREFIX = "RCP1:"
CONFIG_NAME = "provisioning.json"


def default_dir() -> Path:
    return Path("/var/lib/ruralcast-terminal") if os.geteuid() == 0 else Path.home() / ".ruralcast-terminal"


def document_parse(text: str) -> dict[str, Any]:
    """The provisioning document from a file's text or a QR code's text; ValueError if neither."""
    text = text.strip()
    if text.startswith(QR_PREFIX):
        encoded = text[len(QR_PREFIX) :]
        try:
            raw = zlib.decompress(base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)))
        except (binascii.Error, ValueError, zlib.error) as exc:
            raise ValueError(f"not a readable provisioning QR code: {exc}") from None
        text = raw.decode("utf-8")
    try:
        document = json.loads(text)
    except ValueError as exc:
        raise ValueError(f"not a provisioning file (JSON or RCP1: text): {exc}") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise ValueError(f"not a provisioning file: format is not {FORMAT!r}")
    if document.get("v") != 1:
        raise ValueError(f"provisioning file version {document.get('v')!r} is not supported (1)")
    return document


def install(document: dict[str, Any], directory: Path) -> tuple[Path, AgentConfig]:
    """Write the document into `directory` (private), after checking the agent can use it."""
    config = AgentConfig.from_dict(document, base=directory)  # ValueError on anything unusable
    directory.mkdir(parents=True, exist_ok=True)
    directory.chmod(0o700)
    target = directory / CONFIG_NAME
    temporary = directory / f".{CONFIG_NAME}.tmp"
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(document, handle, ensure_ascii=False, indent=2)
    os.replace(temporary, target)
    return target, config


async def check_credentials(config: AgentConfig, *, timeout: float = 10.0) -> None:
    """One CONNECT with the terminal's credentials (over TLS when the file carries `broker_ca`);
    raises on refusal.

    Under its own client id; on the broker's terminal listeners, which bind a terminal's client id
    to its user name (docs/security.md), the broker makes it the terminal's own, so run the check
    before the agent starts (as `provision` does), not beside a running agent.
    """
    client = Client(
        f"{config.terminal_id}-check",
        config.broker_host,
        config.broker_port,
        username=config.username,
        password=config.password,
        clean_session=True,
        ssl=config.tls_context(),
        server_hostname=config.broker_server_name,
        connect_timeout=timeout,
    )
    await client.connect()
    await client.disconnect()


def provision_main(args: Any) -> int:
    try:
        text = sys.stdin.read() if str(args.file) == "-" else Path(args.file).read_text("utf-8")
        document = document_parse(text)
        target, config = install(document, Path(args.dir) if args.dir else default_dir())
    except (OSError, ValueError) as exc:
        print(f"ruralcast-terminal provision: {exc}", file=sys.stderr)
        return 2
    print(f"provisioned terminal {config.terminal_id} (village {config.village_code}) into {target}")
    if not args.no_check:
        try:
            asyncio.run(check_credentials(config))
        except ConnectRefused as exc:
            print(
                f"the broker {config.broker_host}:{config.broker_port} refused the credentials: {exc}", file=sys.stderr
            )
            return 3
        except (OSError, TimeoutError, MQTTError) as exc:
            print(f"could not reach the broker {config.broker_host}:{config.broker_port}: {exc}", file=sys.stderr)
            return 4
        print(f"the broker {config.broker_host}:{config.broker_port} accepts the credentials")
    if args.run:
        from ruralcast_terminal.agent import agent_run

        asyncio.run(agent_run(config))
        return 0
    print(f"start the agent with: ruralcast-terminal agent --config {target}")
    return 0
