"""The MQTT broker (mosquitto 2) run by the platform: its configuration, written from the database.

`manage.py broker_run` writes everything below into RUN_DIR/broker and execs mosquitto in the
foreground:

- `mosquitto.conf`: the platform's listener (RURALCAST_MQTT LISTEN:PORT, plain TCP, loopback only),
  the terminals' TLS listener (TERMINAL_LISTEN:TLS_PORT, certificate from `messaging.tls`) and, only
  if an operator opts in, a plain terminal listener (TERMINAL_LISTEN:PLAIN_PORT); no anonymous
  clients, no connection limit, persistence in this folder (retained alerts survive a restart), a
  pid file for reloads. On the terminal listeners `use_username_as_clientid` binds a client's id to
  its user name, so terminal A's credentials cannot open a session under terminal B's id and knock B
  off (a per-listener option in mosquitto 2.0, whatever `per_listener_settings` says); the
  platform's processes share one account with their own client ids, on the loopback listener
  without that binding;
- `passwords`: `<user>:<hash>` in mosquitto's own `$7$` PBKDF2-SHA512 format: the platform's service
  account and one line per device account the registered providers name (`messaging.credentials`;
  terminals provide theirs: every terminal not revoked, `Terminal.broker_password_hash`; the
  platform never knows a terminal's password);
- `acl`: the platform reads and writes `rc/v1/#`; every terminal (pattern ACLs, `%u` = its user
  name = its resource code) reads `rc/v1/down/t/<itself>` and writes only `rc/v1/up/<itself>/#`;
  a `user` block per terminal lets it read the region topics `rc/v1/down/r/<code>/+` of its
  village and the village's ancestors only.

`broker_sync()` rewrites `passwords` and `acl` and sends mosquitto SIGHUP. On that reload mosquitto
2.0 re-checks every connected client against the new password file and disconnects those that no
longer pass ("Client … disconnected" in its log), so a revoked terminal loses its live connection as
well as the ability to open a new one (tested in tests/test_broker.py).
"""

from __future__ import annotations

import contextlib
import fcntl
import ipaddress
import logging
import os
import pwd
import secrets
import shutil
import signal
from collections.abc import Iterator
from pathlib import Path

from django.conf import settings
from ruralcast_terminal.protocol import covering_codes

from ruralcast.messaging.credentials import broker_accounts, mosquitto_password_hash
from ruralcast.messaging.tls import tls_files_ensure
from ruralcast.messaging.topics import ACL_ALL_REGIONS, ACL_OWN_DOWNLINK, ACL_OWN_UPLINKS, EVERYTHING, region_filter

log = logging.getLogger(__name__)

CONFIG_FILE = "mosquitto.conf"
PASSWORD_FILE = "passwords"  # noqa: S105 — a file name
ACL_FILE = "acl"
PID_FILE = "mosquitto.pid"
PLATFORM_PASSWORD_FILE = "platform.password"  # noqa: S105 — a file name
# The TLS 1.3 suites of the terminal listener, in the broker's order of preference (mosquitto makes
# the server's order win): AES-128-GCM first. The broker encrypts every terminal's copy of an alert
# separately on its one thread; with AES-NI AES-128-GCM is the cheapest of the three here (OpenSSL
# 3.0 `speed -evp` at 16 KB records on the 2-core EPYC: 2.9 GB/s against 2.5 for AES-256-GCM and 1.8
# for ChaCha20-Poly1305), and OpenSSL's default would pick AES-256-GCM. ChaCha20 stays for devices
# without AES instructions (a client that offers it alone gets it). TLS 1.2 keeps OpenSSL's defaults.
TLS13_CIPHERSUITES = "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256"
# mosquitto's state on disk (retained messages, sessions); the one broker file a backup keeps.
PERSISTENCE_FILE = "mosquitto.db"
# What the broker logs, debug included, for the security watch (RURALCAST_MQTT["LOG_DENIALS"]); with
# that setting mosquitto logs here only, and broker_run copies the notices to stderr (broker_console.py).
BROKER_LOG_FILE = "mosquitto.log"

# The largest MQTT packet the broker accepts (mosquitto `max_packet_size`); the dispatcher refuses to
# prepare a bigger message rather than have the broker drop its connection. An alert with 15 s of
# attached audio is ~65 KB; long audio goes by URL (docs/protocols.md §3, §4).
MAX_PACKET_BYTES = 4 * 1024 * 1024
# Messages kept per client with a persistent session while it is away (the ingest worker's session
# keeps receipts that arrive while it restarts). mosquitto's default of 1,000 is too few for a county.
MAX_QUEUED_MESSAGES = 100_000
# Unacknowledged QoS 1 messages the broker sends one client before waiting for PUBACKs (mosquitto's
# default is 20). The ingest worker takes every terminal's receipts through one connection: at 20 in
# flight, a burst of 10,000 receipts crawls at 20 per round trip to it. Terminals receive a message
# or two at a time, so this changes nothing for them.
MAX_INFLIGHT_MESSAGES = 1000
# Seconds between saves of the in-memory state (retained messages, sessions) to disk; mosquitto also
# saves on a clean shutdown. A crash loses what was not saved yet; the dispatcher then puts the retained
# alerts back (it publishes the platform's retained state again on reconnecting, `RetainedMessage`).
AUTOSAVE_SECONDS = 10


class BrokerError(Exception):
    """The broker's files cannot be written or mosquitto cannot be found."""


def broker_dir() -> Path:
    return Path(settings.RUN_DIR) / "broker"


def platform_credentials() -> tuple[str, str]:
    """(user name, password) of the platform's own broker account.

    The password comes from RURALCAST_MQTT["PASSWORD"] when set (a broker on another machine),
    otherwise from RUN_DIR/broker/platform.password, generated on first use (mode 0600).
    """
    config = settings.RURALCAST_MQTT
    if config.get("PASSWORD"):
        return config["USERNAME"], config["PASSWORD"]
    path = broker_dir() / PLATFORM_PASSWORD_FILE
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        # O_EXCL: two processes starting together must not each write a different password.
        with contextlib.suppress(FileExistsError):
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_urlsafe(32) + "\n")
    return config["USERNAME"], path.read_text().strip()


def mosquitto_binary() -> str:
    search = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/usr/local/sbin"])
    found = shutil.which("mosquitto", path=search)
    if found is None:
        raise BrokerError("mosquitto is not installed (Debian: apt-get install mosquitto)")
    return found


def _check_path(path: Path) -> str:
    # mosquitto's configuration parser splits on white space and has no quoting.
    text = str(path)
    if any(c.isspace() for c in text):
        raise BrokerError(f"mosquitto cannot use a path with spaces: {text!r}; set RURALCAST_RUN_DIR elsewhere")
    return text


def _loopback(address: str) -> bool:
    if address == "localhost":
        return True
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


def listeners_render(*, directory: Path) -> list[str]:
    """The listener blocks: the platform's (plain, loopback), the terminals' (TLS; plain if opted in)."""
    config = settings.RURALCAST_MQTT
    listen = config.get("LISTEN") or config["HOST"]
    if not _loopback(listen):
        raise BrokerError(
            f"RURALCAST_MQTT_LISTEN={listen}: the platform's plain listener serves this machine only (it "
            "would carry passwords in clear and let one client take over another's id); terminals on the "
            "network connect to RURALCAST_MQTT_TLS_PORT on RURALCAST_MQTT_TERMINAL_LISTEN (docs/deploy.md)"
        )
    lines = [f"listener {int(config['PORT'])} {listen}", "max_connections -1"]
    terminal_listen = config.get("TERMINAL_LISTEN") or listen
    tls_port = int(config.get("TLS_PORT") or 0)
    if tls_port:
        files = tls_files_ensure(directory)
        lines += [
            f"listener {tls_port} {terminal_listen}",
            "max_connections -1",
            f"cafile {_check_path(files.ca)}",
            f"certfile {_check_path(files.cert)}",
            f"keyfile {_check_path(files.key)}",
            "tls_version tlsv1.2",  # the oldest accepted; TLS 1.3 when the terminal has it
            f"ciphers_tls1.3 {TLS13_CIPHERSUITES}",
            "use_username_as_clientid true",
        ]
    plain_port = int(config.get("PLAIN_PORT") or 0)
    if plain_port:
        # The operator's opt-in (RURALCAST_MQTT_PLAIN_PORT): terminals without TLS, passwords in clear.
        lines += [f"listener {plain_port} {terminal_listen}", "max_connections -1", "use_username_as_clientid true"]
    return lines


def log_render(*, directory: Path, denials: bool) -> list[str]:
    """Where mosquitto logs, and what.

    Without denials: error, warning, notice and information to stderr (unbuffered; stdout to a pipe
    would hold lines back). With denials (RURALCAST_MQTT["LOG_DENIALS"]): mosquitto logs a publish
    its ACL refused at debug only, and debug writes a line for every packet, so everything goes to
    BROKER_LOG_FILE only, which the security watch reads (ruralcast/security/broker_log.py: denials
    at debug, the client-to-user map from the notices) and empties once read, so it stays bounded;
    `broker_run` copies its notices, warnings and errors to stderr (messaging/broker_console.py),
    as mosquitto 2.0 cannot give two destinations different types.
    """
    types = ["log_type error", "log_type warning", "log_type notice", "log_type information"]
    if not denials:
        return ["log_dest stderr", *types]
    return [f"log_dest file {_check_path(directory / BROKER_LOG_FILE)}", *types, "log_type debug"]


def broker_log_path() -> Path | None:
    """mosquitto's log file when it logs to one (LOG_DENIALS), else None (it logs to stderr)."""
    return broker_dir() / BROKER_LOG_FILE if settings.RURALCAST_MQTT.get("LOG_DENIALS", True) else None


def config_render(*, directory: Path) -> str:
    config = settings.RURALCAST_MQTT
    lines = [
        "# Written by ruralcast (messaging/broker.py) on every `manage.py broker_run`; edits are lost.",
        "per_listener_settings false",
        "allow_anonymous false",
        f"password_file {_check_path(directory / PASSWORD_FILE)}",
        f"acl_file {_check_path(directory / ACL_FILE)}",
        *listeners_render(directory=directory),
        f"max_queued_messages {MAX_QUEUED_MESSAGES}",
        f"max_inflight_messages {MAX_INFLIGHT_MESSAGES}",
        f"max_packet_size {MAX_PACKET_BYTES}",
        "persistence true",
        f"persistence_location {_check_path(directory)}/",
        f"persistence_file {PERSISTENCE_FILE}",
        f"autosave_interval {AUTOSAVE_SECONDS}",
        f"pid_file {_check_path(directory / PID_FILE)}",
        *log_render(directory=directory, denials=bool(config.get("LOG_DENIALS", True))),
        "log_timestamp_format %Y-%m-%dT%H:%M:%S",
    ]
    if os.geteuid() == 0:
        # As root, mosquitto would switch to the `mosquitto` user, who cannot read RUN_DIR.
        lines.append(f"user {pwd.getpwuid(os.geteuid()).pw_name}")
    return "\n".join(lines) + "\n"


def acl_render() -> str:
    """The ACL: the platform reads and writes everything; a terminal reads its own downlink topic
    and the region topics of its village's ancestors (and the village), and writes its own uplinks.

    The own-topic rules are patterns (`%u`, one line for every terminal); the region rules need the
    village, which mosquitto cannot derive from the user name, so each terminal gets a `user` block
    (6 lines at most: national root, province, city, county, township, village).

    With RURALCAST_MQTT["REGION_ACL"] = "shared" one pattern lets every terminal read every region
    topic instead: the file stays a few lines whatever the fleet, so a reload is instant at province
    scale. What a terminal then reads beyond its own area is what every loudspeaker there says out
    loud anyway: signed alerts and commands that name their targets, which the terminal checks
    (protocols.md §4, §8); it still writes only its own uplinks and reads only its own terminal topic.
    """
    username, _password = platform_credentials()
    mode = settings.RURALCAST_MQTT.get("REGION_ACL", "covering")
    if mode not in ("covering", "shared"):
        raise BrokerError(f"RURALCAST_MQTT_REGION_ACL is 'covering' or 'shared', not {mode!r}")
    if mode == "shared":
        return "\n".join(
            [
                "# Written by ruralcast from the database (messaging/broker.py); edits are lost.",
                f"user {username}",
                f"topic readwrite {EVERYTHING}",
                "",
                "# Every terminal: its user name is its resource code; region topics are shared (REGION_ACL).",
                f"pattern read {ACL_OWN_DOWNLINK}",
                f"pattern write {ACL_OWN_UPLINKS}",
                f"pattern read {ACL_ALL_REGIONS}",
                "",
            ]
        )
    lines = [
        "# Written by ruralcast from the database (messaging/broker.py); edits are lost.",
        f"user {username}",
        f"topic readwrite {EVERYTHING}",
        "",
        "# Every terminal: its user name is its resource code.",
        f"pattern read {ACL_OWN_DOWNLINK}",
        f"pattern write {ACL_OWN_UPLINKS}",
        "",
        "# Each terminal reads the region topics covering its village, nothing else.",
    ]
    for account in broker_accounts():
        if account.username == username or not account.username.isdigit():
            continue
        lines.append(f"user {account.username}")
        lines.extend(f"topic read {region_filter(area)}" for area in covering_codes(account.region_code))
    lines.append("")
    return "\n".join(lines)


def passwords_render() -> tuple[str, int]:
    """The password file's text and the number of device accounts in it."""
    username, password = platform_credentials()
    lines = [f"{username}:{mosquitto_password_hash(password)}"]
    count = 0
    for account in broker_accounts():
        if account.username == username or ":" in account.username or not account.password_hash:
            continue
        lines.append(f"{account.username}:{account.password_hash}")
        count += 1
    return "\n".join(lines) + "\n", count


def _write(path: Path, text: str) -> None:
    """Replace `path` atomically (mosquitto may be reading it), readable by its owner only."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    os.replace(tmp, path)


@contextlib.contextmanager
def _sync_lock(directory: Path) -> Iterator[None]:
    with open(directory / ".sync.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def broker_files_write() -> int:
    """Write `passwords` and `acl` from the database; returns the number of terminals allowed."""
    directory = broker_dir()
    directory.mkdir(parents=True, exist_ok=True)
    with _sync_lock(directory):
        passwords, count = passwords_render()
        _write(directory / PASSWORD_FILE, passwords)
        _write(directory / ACL_FILE, acl_render())
    return count


def broker_config_write() -> Path:
    """Write the whole configuration (config, passwords, ACL); returns the config file's path."""
    directory = broker_dir()
    directory.mkdir(parents=True, exist_ok=True)
    broker_files_write()
    path = directory / CONFIG_FILE
    _write(path, config_render(directory=directory))
    return path


def broker_pid() -> int | None:
    """The pid of the mosquitto started from RUN_DIR/broker, if it runs."""
    try:
        pid = int((broker_dir() / PID_FILE).read_text().strip())
    except (OSError, ValueError):
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        pass
    comm = Path(f"/proc/{pid}/comm")
    # A stale pid file may name a pid that now belongs to another program: never signal that one.
    if comm.exists() and comm.read_text().strip() != "mosquitto":
        return None
    return pid


def broker_reload() -> bool:
    """SIGHUP the local mosquitto: it re-reads its files and drops clients that no longer pass."""
    pid = broker_pid()
    if pid is None:
        return False
    os.kill(pid, signal.SIGHUP)
    return True


def broker_sync() -> bool:
    """Rewrite the password and ACL files from the database and reload the broker.

    Does nothing (returns False) on a machine where `broker_run` never set a broker up: the files
    live beside the broker that reads them. With a broker elsewhere (or EMQX), run `broker_sync`
    there; see docs/protocols.md §2.
    """
    if not (broker_dir() / CONFIG_FILE).exists():
        return False
    count = broker_files_write()
    reloaded = broker_reload()
    log.info("broker credentials synced: %d terminals%s", count, ", broker reloaded" if reloaded else "")
    return True
