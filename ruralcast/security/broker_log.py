"""Publishes the broker's ACL refused, read from mosquitto's log (`manage.py security_watch`).

mosquitto 2.0 says nothing to the publisher of a refused PUBLISH under MQTT 3.1.1 (it acknowledges
and drops it) and keeps no count in `$SYS`; the only trace is the log line
`Denied PUBLISH from <client> (d0, q1, r0, m1, '<topic>', ... (<n> bytes))`, written at
`log_type debug` only. So `messaging.broker` has the broker log to a file of its folder with debug
on (RURALCAST_MQTT["LOG_DENIALS"], default on), and this watch follows that file: it learns which
user each client id connected as (`New client connected … as <client> (…, u'<user>')`), turns each
denial into a `refused_publish` event of that terminal's region, and empties the file once read
past `TRUNCATE_BYTES` (mosquitto appends, so it writes on at the new end). Why a tailer rather
than a broker plugin: no C code to build and ship with mosquitto, and the same log that an
operator reads is what is counted.
"""

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from ruralcast.security.models import SecurityKind
from ruralcast.security.services import SecurityEventIn, security_events_record, terminal_region_code

DENIED = re.compile(r"Denied PUBLISH from (?P<client>\S+) \(d\d, q\d, r\d, m\d+, '(?P<topic>[^']*)'")
CONNECTED = re.compile(r"New client connected from \S+ as (?P<client>\S+) \(.*u'(?P<user>[^']*)'\)")
TRUNCATE_BYTES = 64 * 1024 * 1024
READ_BYTES = 4 * 1024 * 1024


@dataclass
class BrokerLogWatch:
    path: Path
    offset: int = 0
    inode: int | None = None
    clients: dict[str, str] = field(default_factory=dict)  # client id → user name
    truncate_bytes: int = TRUNCATE_BYTES

    def events_of(self, lines: list[str]) -> list[SecurityEventIn]:
        events: list[SecurityEventIn] = []
        for line in lines:
            if " Denied PUBLISH " in line and (denied := DENIED.search(line)):
                client = denied["client"]
                # Terminals connect with their resource code as client id (docs/protocols.md §2).
                user = self.clients.get(client, client)
                events.append(
                    SecurityEventIn(
                        kind=SecurityKind.REFUSED_PUBLISH,
                        region_code=terminal_region_code(user),
                        terminal_code=user if terminal_region_code(user) else "",
                        username="" if terminal_region_code(user) else user,
                        detail=denied["topic"],
                    )
                )
            elif " New client connected " in line and (connected := CONNECTED.search(line)):
                self.clients[connected["client"]] = connected["user"]
        return events

    def scan(self) -> int:
        """Read what the broker wrote since the last scan; record its denials. Returns how many."""
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            return 0
        if stat.st_ino != self.inode or stat.st_size < self.offset:
            self.inode, self.offset = stat.st_ino, 0  # a new or emptied file: start again
        recorded = 0
        with open(self.path, "rb") as handle:
            while True:
                handle.seek(self.offset)
                chunk = handle.read(READ_BYTES)
                end = chunk.rfind(b"\n")
                if end < 0:
                    break  # nothing, or half a line: wait for the rest
                self.offset += end + 1
                lines = chunk[: end + 1].decode("utf-8", errors="replace").splitlines()
                recorded += security_events_record(events=self.events_of(lines))
        if self.offset >= self.truncate_bytes:
            with open(self.path, "r+b") as handle:
                os.ftruncate(handle.fileno(), 0)
            self.offset = 0
        return recorded
