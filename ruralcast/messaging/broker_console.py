"""The broker's console: what of mosquitto's log reaches `manage.py broker_run`'s stderr.

With RURALCAST_MQTT["LOG_DENIALS"] on (the default), mosquitto logs at `debug`, because a publish its
ACL refused is logged at that level only, and the security watch counts those lines
(ruralcast/security/broker_log.py). At debug mosquitto writes a line for every packet it receives or
sends: at a county's fleet that is thousands of lines a second, which flooded the `make run` console
when mosquitto also logged to stderr. mosquitto 2.0 applies one set of `log_type`s to every
`log_dest`, so it cannot write debug to a file and only notices to stderr by itself.

So with LOG_DENIALS mosquitto logs to its file only (`RUN_DIR/broker/mosquitto.log`, every type), and
`broker_run` forks this relay before it execs mosquitto: the relay follows the file and copies to the
inherited stderr the lines that are notices, warnings or errors (clients connecting and leaving,
refused logins, socket errors, a port already taken), leaving out the per-packet debug trace and the
handful of informational lines (version, config loaded, listen sockets, database saves). mosquitto
writes no level into a line, so the relay tells them apart by their text: the shapes mosquitto 2.0
logs at debug and information are listed below; any other line is shown, so a message this list does
not know reaches the console rather than being lost. The relay stops when mosquitto (its parent after
the exec) is gone, and starts again at the new end when the security watch empties the file.
"""

from __future__ import annotations

import os
import re
import signal
import sys
import time
from pathlib import Path
from typing import TextIO

# After "<timestamp>: " (log_timestamp_format in broker.py). Debug: the packet trace ("Received
# PUBLISH from …", "Sending PUBACK to …"), ACL refusals ("Denied PUBLISH from …", in the security
# panel instead), the indented topics of a SUBSCRIBE. Information: start, stop, reload, listen
# sockets, the periodic database save.
QUIET = re.compile(
    r"^(?:\S+: )?(?:Received \S+ from |Sending \S+ to |Denied \S+ from |\t"
    r"|mosquitto version \S+ (?:starting|running|terminating)|Config loaded from |Using default config"
    r"|Opening (?:ipv4|ipv6|websockets) listen socket|Reloading config|Saving in-memory database)"
)
POLL_SECONDS = 0.2


def console_line(line: str) -> bool:
    """Whether a line of mosquitto's log belongs on the console (a notice, warning or error)."""
    return bool(line.strip()) and not QUIET.match(line)


def console_copy(path: Path, offset: int, out: TextIO) -> int:
    """Copy the console lines written to `path` since `offset` to `out`; return the new offset.

    A file shorter than `offset` was emptied (the security watch truncates it): read it from the start.
    Half a line at the end waits for the next call.
    """
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        return 0
    if size < offset:
        offset = 0
    if size == offset:
        return offset
    with open(path, "rb") as handle:
        handle.seek(offset)
        chunk = handle.read(size - offset)
    end = chunk.rfind(b"\n")
    if end < 0:
        return offset
    for line in chunk[: end + 1].decode("utf-8", errors="replace").splitlines():
        if console_line(line):
            out.write(line + "\n")
    out.flush()
    return offset + end + 1


def console_relay_fork(path: Path) -> int:
    """Fork the relay for mosquitto's log file; the caller (the parent) then execs mosquitto.

    Returns the child's pid in the parent; the child never returns. It starts at the file's current
    end (what an earlier run logged was shown then) and exits once its parent, mosquitto, has exited.
    """
    try:
        start = path.stat().st_size
    except FileNotFoundError:
        start = 0
    parent = os.getpid()
    pid = os.fork()
    if pid:
        return pid
    # The child: no Django, no database; the file and stderr only. It outlives the signals that stop
    # mosquitto (a process manager signals the whole group) to copy mosquitto's last lines.
    for number in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(number, signal.SIG_IGN)
    offset = start
    try:
        while os.getppid() == parent:
            offset = console_copy(path, offset, sys.stderr)
            time.sleep(POLL_SECONDS)
        console_copy(path, offset, sys.stderr)  # mosquitto's last words
    finally:
        os._exit(0)
