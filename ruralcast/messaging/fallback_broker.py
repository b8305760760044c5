"""amqtt: the fallback broker, for a demo with a handful of terminals where mosquitto is missing.

mosquitto is the platform's broker (`broker.py`); `make run` installs it. Where it cannot be
installed, `manage.py broker_run` runs amqtt (a pure-Python broker) instead, on the same address,
with the same rules, read from the same files `broker_files_write()` renders for mosquitto:

- `passwords`: `<user>:$7$…` lines (mosquitto's PBKDF2-SHA512 format), checked by
  `PasswordFileAuth` with the platform's own `mosquitto_password_check`; anonymous clients are refused;
- `acl`: mosquitto's ACL syntax (`user` blocks of `topic` lines, and `pattern` lines for every user
  with `%u` = user name and `%c` = client id), applied by `AclTopicCheck` to subscriptions,
  deliveries and publications.

Both files are re-read when they change, so `broker_sync()` takes effect at once: a revoked
terminal is refused at its next connect, and its open connection can neither receive nor publish
any more (amqtt has no reload that drops it; mosquitto's SIGHUP does).

Limits, stated in docs/deploy.md: amqtt handles a few dozen terminals, not a county (measured in
the brief: ~240 µs of Python per delivered message); retained alerts and persistent sessions live
in memory only, so a restart of this broker forgets them (mosquitto keeps them on disk).
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from amqtt.broker import Broker
from amqtt.contexts import Action
from amqtt.plugins.base import BaseAuthPlugin, BaseTopicPlugin
from amqtt.session import Session

from ruralcast.messaging.credentials import mosquitto_password_check

log = logging.getLogger(__name__)

READ, WRITE = "read", "write"


def topic_matches(topic: str, topic_filter: str) -> bool:
    """MQTT matching of a topic (or a requested filter, taken literally) against an ACL filter."""
    wanted = topic.split("/")
    allowed = topic_filter.split("/")
    for index, level in enumerate(allowed):
        if level == "#":
            return True
        if index >= len(wanted):
            return False
        if level != "+" and level != wanted[index]:
            return False
    return len(wanted) == len(allowed)


@dataclass(frozen=True)
class AclRule:
    access: frozenset[str]  # {"read"}, {"write"} or both
    topic: str
    pattern: bool  # a `pattern` line: %u and %c are substituted per client

    def allows(self, *, username: str, client_id: str, topic: str, access: str) -> bool:
        if access not in self.access:
            return False
        wanted = self.topic.replace("%u", username).replace("%c", client_id) if self.pattern else self.topic
        return topic_matches(topic, wanted)


def _access_of(word: str) -> frozenset[str]:
    return {"read": frozenset({READ}), "write": frozenset({WRITE})}.get(word, frozenset({READ, WRITE}))


def acl_parse(lines: Iterable[str]) -> tuple[dict[str, list[AclRule]], list[AclRule]]:
    """mosquitto's ACL file: rules per user (`user` + `topic` lines) and patterns for everyone."""
    users: dict[str, list[AclRule]] = {}
    patterns: list[AclRule] = []
    current: str | None = None
    for raw in lines:
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        keyword, _, rest = line.partition(" ")
        rest = rest.strip()
        if keyword == "user":
            current = rest
            users.setdefault(current, [])
            continue
        if keyword not in ("topic", "pattern") or not rest:
            continue
        words = rest.split(" ", 1)
        access, topic = (
            (words[0], words[1].strip())
            if len(words) == 2 and words[0] in (READ, WRITE, "readwrite")
            else ("readwrite", rest)
        )
        rule = AclRule(access=_access_of(access), topic=topic, pattern=keyword == "pattern")
        if rule.pattern:
            patterns.append(rule)
        elif current is not None:  # topic lines before any `user` are for anonymous clients: none here
            users[current].append(rule)
    return users, patterns


@dataclass
class BrokerFiles:
    """The password and ACL files, read as mosquitto reads them and re-read when they change."""

    directory: Path
    _stamp: tuple[tuple[int, int, int], ...] = ()
    _passwords: dict[str, str] = field(default_factory=dict)
    _users: dict[str, list[AclRule]] = field(default_factory=dict)
    _patterns: list[AclRule] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _refresh(self) -> None:
        from ruralcast.messaging.broker import ACL_FILE, PASSWORD_FILE

        passwords, acl = self.directory / PASSWORD_FILE, self.directory / ACL_FILE
        stamp = tuple(_stamp_of(path) for path in (passwords, acl))
        with self._lock:
            if stamp == self._stamp:
                return
            entries = {}
            if passwords.exists():
                for line in passwords.read_text().splitlines():
                    user, sep, encoded = line.partition(":")
                    if sep and user and not line.startswith("#"):
                        entries[user] = encoded.strip()
            self._passwords = entries
            self._users, self._patterns = acl_parse(acl.read_text().splitlines() if acl.exists() else [])
            self._stamp = stamp

    def password_ok(self, username: str | None, password: str | None) -> bool:
        self._refresh()
        encoded = self._passwords.get(username or "")
        return bool(encoded and password is not None and mosquitto_password_check(password, encoded))

    def allowed(self, *, username: str | None, client_id: str, topic: str, access: str) -> bool:
        self._refresh()
        if not username or username not in self._passwords:  # revoked since it connected
            return False
        rules = [*self._users.get(username, []), *self._patterns]
        return any(rule.allows(username=username, client_id=client_id, topic=topic, access=access) for rule in rules)


def _stamp_of(path: Path) -> tuple[int, int, int]:
    """What changes when `broker_files_write()` replaces a file (it writes a new file and renames)."""
    try:
        info = path.stat()
    except FileNotFoundError:
        return (-1, -1, -1)
    return (info.st_mtime_ns, info.st_ino, info.st_size)


_FILES: dict[str, BrokerFiles] = {}


def _files(directory: str) -> BrokerFiles:
    if directory not in _FILES:
        _FILES[directory] = BrokerFiles(Path(directory))
    return _FILES[directory]


class PasswordFileAuth(BaseAuthPlugin):
    """amqtt authentication against the platform's mosquitto password file (no anonymous clients)."""

    @dataclass
    class Config:
        directory: str = ""

    async def authenticate(self, *, session: Session) -> bool | None:
        files = _files(self.config.directory)
        password = session.password.decode() if isinstance(session.password, bytes) else session.password
        ok = files.password_ok(session.username, password)
        if not ok:
            log.warning("broker: refused %s (user %r): bad user name or password", session.client_id, session.username)
        return ok


class AclTopicCheck(BaseTopicPlugin):
    """amqtt topic checks from the platform's mosquitto ACL file."""

    @dataclass
    class Config:
        directory: str = ""

    async def topic_filtering(
        self, *, session: Session | None = None, topic: str | None = None, action: Action | None = None
    ) -> bool | None:
        if session is None or not topic:
            return False
        access = WRITE if action == Action.PUBLISH else READ
        return _files(self.config.directory).allowed(
            username=session.username, client_id=session.client_id, topic=topic, access=access
        )


def broker_config(*, host: str, port: int, directory: Path) -> dict[str, Any]:
    plugins = {f"{__name__}.{cls.__name__}": {"directory": str(directory)} for cls in (PasswordFileAuth, AclTopicCheck)}
    return {
        "listeners": {"default": {"type": "tcp", "bind": f"{host}:{port}", "max_connections": 0}},
        "plugins": plugins,
    }


async def fallback_broker_serve(*, host: str, port: int, directory: Path, stop: asyncio.Event | None = None) -> None:
    """Run amqtt until `stop` is set or SIGTERM/SIGINT arrives."""
    stop = stop or asyncio.Event()
    for noisy in ("amqtt", "transitions"):  # both log every packet and state change at INFO
        logging.getLogger(noisy).setLevel(logging.WARNING)
    loop = asyncio.get_running_loop()
    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
    broker = Broker(broker_config(host=host, port=port, directory=directory))
    await broker.start()
    log.warning(
        "broker: amqtt fallback on %s:%d (pid %d); fit for a handful of terminals only, install mosquitto",
        host,
        port,
        os.getpid(),
    )
    try:
        await stop.wait()
    finally:
        await broker.shutdown()
