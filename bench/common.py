"""What the benchmarks share: machine description, medians and percentiles, recording to
docs/benchmarks.md, the Django set-up on a throwaway database (one environment variable,
`BENCH_POSTGRES_URL`, chooses PostgreSQL), the platform a benchmark runs against (regions, signing
key, users, terminals over villages; the broker and the workers as processes), and the one bare
broker worker of the baselines."""

import asyncio
import contextlib
import json
import multiprocessing
import os
import platform
import signal
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BENCHMARKS_MD = ROOT / "docs" / "benchmarks.md"
# The one environment variable for PostgreSQL: the URL of a server (any database name on it). Set,
# every benchmark runs on a throwaway database of its own there (created, migrated, dropped);
# unset, on a SQLite file in a temporary directory. The benchmarks that compare both databases
# (receipts, reporting) fall back to the server of scripts/postgres.sh.
POSTGRES_URL_VARIABLE = "BENCH_POSTGRES_URL"


def machine() -> str:
    cpu = "unknown cpu"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{os.cpu_count()} cores, {memory_gib:.0f} GiB, {cpu}, Python {platform.python_version()}"


def median(values: list[float]) -> float:
    return round(statistics.median(values), 4)


def percentile(values: Sequence[float], fraction: float) -> float:
    """The nearest-rank percentile (`fraction` 0.5 = median, 0.99 = p99) of a non-empty list."""
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))], 4)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(predicate: Any, timeout: float, what: str) -> None:
    """Poll `predicate()` every 50 ms until it is true; TimeoutError naming `what` after `timeout` s."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(what)
        time.sleep(0.05)


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def spawn(arguments: list[str], log: Path) -> subprocess.Popen[bytes]:
    """A child process in the repository's root, with this process's environment, output to `log`."""
    handle = log.open("wb")
    return subprocess.Popen(arguments, cwd=ROOT, env=os.environ.copy(), stdout=handle, stderr=subprocess.STDOUT)


def _process_tree(pid: int) -> list[int]:
    """`pid` and all its descendants (Linux /proc)."""
    tree, index = [pid], 0
    while index < len(tree):
        for children in Path(f"/proc/{tree[index]}/task").glob("*/children"):
            with contextlib.suppress(OSError):
                tree.extend(int(child) for child in children.read_text().split())
        index += 1
    return tree


def _process_cpu(pid: int) -> float:
    """User + system CPU seconds of one process so far (0 once it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime


def pin(pid: int, cpus: set[int]) -> None:
    """Run `pid`, every thread of it and every descendant (and their future children) on `cpus` only.

    A benchmark that needs the broker's share apart from its own clients' (alerts --pin) keeps them
    on different cores; Linux sets affinity per thread, so each task of the tree is set.
    """
    for member in _process_tree(pid):
        for task in Path(f"/proc/{member}/task").glob("*"):
            with contextlib.suppress(OSError, ValueError):
                os.sched_setaffinity(int(task.name), cpus)


def cpu_seconds(pids: dict[str, list[int]]) -> dict[str, float]:
    """User + system CPU seconds used so far by each role's processes (and their children), read
    from /proc (psutil is no longer a dependency of the platform)."""
    return {
        role: sum(_process_cpu(member) for pid in role_pids for member in _process_tree(pid))
        for role, role_pids in pids.items()
    }


def cpu_used(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    return {role: round(after[role] - before.get(role, 0.0), 3) for role in after}


def record(name: str, figures: dict[str, Any]) -> dict[str, Any]:
    """Print one JSON line and append it, dated, to docs/benchmarks.md under 'Raw results'."""
    line = {"bench": name, "date": datetime.now(UTC).strftime("%Y-%m-%d"), "machine": machine(), **figures}
    text = json.dumps(line, ensure_ascii=False)
    print(text)
    if os.environ.get("BENCH_NO_RECORD") != "1":
        with BENCHMARKS_MD.open("a", encoding="utf-8") as handle:
            handle.write(f"- `{text}`\n")
    return line


# ---------------------------------------------------------------------------------------------
# Django on a throwaway database (one per process).


def _postgres_url(name: str) -> str:
    url = (
        os.environ.get(POSTGRES_URL_VARIABLE)
        or subprocess.run(
            [str(ROOT / "scripts" / "postgres.sh"), "url"], capture_output=True, text=True, check=True
        ).stdout.strip()
    )
    return url.rsplit("/", 1)[0] + "/" + name


def _postgres_admin(url: str, sql: str) -> None:
    import psycopg

    with psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as connection:
        connection.execute(sql)


@contextlib.contextmanager
def bench_django(name: str, *, database: str | None = None, mqtt_port: int | None = None) -> Iterator[Path]:
    """Django set up on a new, migrated database; yields the run's temporary directory (RURALCAST_RUN_DIR).

    `database` "postgresql": the database `rc_bench_<name>` on the server of BENCH_POSTGRES_URL (else
    scripts/postgres.sh), dropped afterwards; "sqlite": a file in the temporary directory; None:
    PostgreSQL when BENCH_POSTGRES_URL is set, else SQLite. With `mqtt_port` the platform's broker
    (and every child process started with this environment) listens there. Once per process.
    """
    if database is None:
        database = "postgresql" if os.environ.get(POSTGRES_URL_VARIABLE) else "sqlite"
    workdir = Path(tempfile.mkdtemp(prefix=f"rc-bench-{name}-"))
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "config.django.local",
            "RURALCAST_RUN_DIR": str(workdir),
            "DJANGO_SECRET_KEY": "bench-only",  # a throwaway database
            "LOG_LEVEL": "WARNING",
        }
    )
    if mqtt_port is not None:
        os.environ["RURALCAST_MQTT_PORT"] = str(mqtt_port)
        # No terminal TLS listener unless a script asks for one (alerts --tls): a fixed default port
        # would clash with a running `make run` or another benchmark.
        os.environ.setdefault("RURALCAST_MQTT_TLS_PORT", "0")
    url = _postgres_url(f"rc_bench_{name.replace('-', '_')}") if database == "postgresql" else ""
    if url:
        _postgres_admin(url, f"DROP DATABASE IF EXISTS {url.rsplit('/', 1)[1]} WITH (FORCE)")
        _postgres_admin(url, f"CREATE DATABASE {url.rsplit('/', 1)[1]}")
        os.environ["DATABASE_URL"] = url
    else:
        os.environ["DATABASE_URL"] = f"sqlite:///{workdir / 'bench.sqlite3'}"
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connections

    try:
        call_command("migrate", verbosity=0)
        yield workdir
    finally:
        connections.close_all()
        if url:
            _postgres_admin(url, f"DROP DATABASE IF EXISTS {url.rsplit('/', 1)[1]} WITH (FORCE)")


def database_name() -> str:
    """ "postgresql" or "sqlite": the database Django is set up on."""
    from django.conf import settings

    return str(settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1])


def database_runs(
    parser: Any, script: str, child: Callable[[str, Any], dict[str, Any]], forwarded: Sequence[str]
) -> tuple[Any, list[dict[str, Any]]] | None:
    """The command line of a benchmark run once per database, each in a process of its own.

    Adds `--database` (postgresql, sqlite, both) to `parser` and parses. In the parent, runs
    `script --child --database D` with the `forwarded` options for each database and returns (args,
    the JSON object each child printed last). In a child, prints `child(database, args)` as JSON and
    returns None.
    """
    import argparse

    parser.add_argument("--database", choices=["postgresql", "sqlite", "both"], default="both")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.database, args)))
        return None
    arguments = [item for name in forwarded for item in (f"--{name}", str(getattr(args, name)))]
    runs = []
    for database in ["postgresql", "sqlite"] if args.database == "both" else [args.database]:
        output = subprocess.run(
            [sys.executable, script, "--child", "--database", database, *arguments],
            capture_output=True,
            text=True,
            check=False,
        )
        if output.returncode:
            sys.stderr.write(output.stderr)
            raise SystemExit(f"{database} run failed")
        runs.append(json.loads(output.stdout.strip().splitlines()[-1]))
    return args, runs


# ---------------------------------------------------------------------------------------------
# The platform a benchmark runs against (alerts, live_voice, playout, fleet).


@dataclass
class Platform:
    """What `platform_setup` made: the region, the signing key, the users by name, and the
    terminals as (code, password, village code) in village order."""

    region: Any
    key: Any
    users: dict[str, Any]
    terminals: list[tuple[str, str, str]] = field(default_factory=list)
    registration_s: float = 0.0
    trust: Path | None = None


def platform_villages(region: Any) -> list[Any]:
    from ruralcast.regions.codes import Level, subtree_q
    from ruralcast.regions.models import Region

    return list(Region.objects.filter(subtree_q(region.prefix), level=Level.VILLAGE).order_by("code"))


def platform_setup(region_code: str, *, users: dict[str, str], terminals: int = 0) -> Platform:
    """Regions of the province of `region_code` imported, a signing key, `users` (name → role, granted
    on the region) and `terminals` registered with broker credentials: one a village spread evenly
    over the region's villages, or round the villages again when there are more terminals than
    villages. Writes the trust file the simulator reads."""
    from django.db import transaction
    from ruralcast_terminal.simulate import raise_fd_limit

    from ruralcast.accounts.demo import random_password
    from ruralcast.accounts.services import role_grant, user_create
    from ruralcast.regions.models import Region
    from ruralcast.regions.services import regions_import
    from ruralcast.signing.services import signing_key_generate
    from ruralcast.terminals.demo import trust_file_write
    from ruralcast.terminals.services import terminal_register

    raise_fd_limit()
    regions_import(province=region_code[:2])
    key = signing_key_generate(actor=None)
    region = Region.objects.get(code=region_code)
    made = {}
    for username, role in users.items():
        user = user_create(actor=None, username=username, password=random_password(), home_region=region)
        role_grant(actor=None, user=user, role=role, region=region)
        made[username] = user
    villages = platform_villages(region)
    if terminals <= len(villages):
        chosen = villages[:: max(1, len(villages) // max(1, terminals))][:terminals]
    else:
        chosen = [villages[number % len(villages)] for number in range(terminals)]
    registered = []
    started = time.perf_counter()
    # The service itself, one terminal at a time, but 500 to a transaction: on SQLite each commit is
    # a sync to disk, which made 10,000 registrations take 504 s on the loaded 2-core machine.
    for first in range(0, len(chosen), 500):
        with transaction.atomic():
            for village in chosen[first : first + 500]:
                registration = terminal_register(actor=None, village=village)
                registered.append((registration.terminal.code, registration.password, village.code))
    registration_s = time.perf_counter() - started
    return Platform(region, key, made, registered, registration_s, trust_file_write() if terminals else None)


def password_file(path: Path, terminals: Sequence[tuple[str, ...]]) -> Path:
    """The simulator's --password-file: one `code:password` line a terminal."""
    path.write_text("".join(f"{code}:{password}\n" for code, password, *_rest in terminals))
    return path


@dataclass
class Services:
    """The platform's processes by name (broker, the workers, web) and the web server's port."""

    processes: dict[str, subprocess.Popen[bytes]]
    web_port: int = 0

    def pids(self, *names: str) -> dict[str, list[int]]:
        return {name: [self.processes[name].pid] for name in names}


@contextlib.contextmanager
def platform_services(
    workdir: Path, mqtt_port: int, workers: Sequence[str] = (), *, web: bool = False
) -> Iterator[Services]:
    """The broker (`manage.py broker_run`, mosquitto configured by the platform) on `mqtt_port`, then
    the `workers` (manage.py commands: dispatcher, ingest) and with `web` uvicorn on a free port, as
    `make run` starts them; stopped (SIGTERM, then killed after 15 s) on leaving. Logs in workdir/logs."""
    logs = workdir / "logs"
    logs.mkdir(exist_ok=True)
    manage = [sys.executable, str(ROOT / "manage.py")]
    services = Services({"broker": spawn([*manage, "broker_run"], logs / "broker.log")})
    try:
        wait_until(lambda: port_open(mqtt_port), 120, "broker")
        for name in workers:
            services.processes[name] = spawn([*manage, name], logs / f"{name}.log")
        for name in workers:  # on a loaded machine a worker's start (Django, crypto) can take 20 s
            log = logs / f"{name}.log"
            wait_until(lambda log=log: " running" in log.read_text(errors="replace"), 300, f"{name} running")
        if web:
            services.web_port = free_port()
            services.processes["web"] = spawn(
                [sys.executable, "-m", "uvicorn", "config.asgi:application", "--host", "127.0.0.1",
                 "--port", str(services.web_port)],
                logs / "web.log",
            )  # fmt: skip
            wait_until(lambda: port_open(services.web_port), 120, "web server")
        if workers or web:
            time.sleep(2)  # the workers' subscriptions acknowledged
        yield services
    finally:
        stopping = list(reversed(services.processes.values()))
        for process in stopping:
            process.send_signal(signal.SIGTERM)
        for process in stopping:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()


def simulator_command(
    terminals: Sequence[tuple[str, ...]], *, workdir: Path, name: str, region: str, port: int, processes: int,
    trust: Path, report: Path, options: Sequence[str] = (),
) -> list[str]:  # fmt: skip
    """`ruralcast-terminal simulate` for these terminals (their own credentials) on the broker."""
    passwords = password_file(workdir / f"passwords-{name}", terminals)
    return [
        str(Path(sys.executable).parent / "ruralcast-terminal"), "simulate", "--count", str(len(terminals)),
        "--region", region, "--broker", f"127.0.0.1:{port}", "--processes", str(processes),
        "--password-file", str(passwords), "--trust", str(trust), "--connect-timeout", "300",
        "--report", str(report), *options,
    ]  # fmt: skip


def simulator_ready(log: Path, timeout: float = 600) -> None:
    wait_until(lambda: '"event": "ready"' in log.read_text(errors="replace"), timeout, "simulator")


# ---------------------------------------------------------------------------------------------
# The bare broker baselines (alerts, playout, live_voice): the same terminal accounts subscribed by
# plain clients, and messages published by the platform account; one worker for all of them.


async def connected_clients(
    accounts: list[tuple[str, str, list[tuple[str, int]]]], *, port: int, on_message: Callable[[Any], None]
) -> list[Any]:
    """One lean client per (user, password, subscriptions), all started and connected (200 at a time)."""
    from ruralcast_terminal.mqtt import Client

    gate = asyncio.Semaphore(200)
    clients = [
        Client(
            f"{user}-bare",
            "127.0.0.1",
            port,
            username=user,
            password=password,
            subscriptions=subscriptions,
            on_message=on_message,
            connect_gate=gate,
        )
        for user, password, subscriptions in accounts
    ]
    for client in clients:
        client.start()
    while sum(client.is_connected for client in clients) < len(clients):
        await asyncio.sleep(0.05)
    return clients


async def platform_publisher(client_id: str, *, port: int) -> Any:
    """A connected client of the platform's own broker account (needs Django set up)."""
    from ruralcast_terminal.mqtt import Client

    from ruralcast.messaging.broker import platform_credentials

    user, password = platform_credentials()
    publisher = Client(client_id, "127.0.0.1", port, username=user, password=password)
    publisher.start()
    while not publisher.is_connected:
        await asyncio.sleep(0.01)
    return publisher


@dataclass(frozen=True)
class Bare:
    """How the bare worker's clients behave.

    Only messages whose topic contains `mark` count. A round is `expected` counted messages (0: one
    per client); the worker reports ("round", index, the last one's arrival time) for each. With
    `reply_bytes` every client answers each message at once with one QoS 1 message of that size on
    its own uplink topic `rc/v1/up/<id>/bench` (which the ingest worker does not read), as a terminal
    answers with its receipt. With `stamped` the payload starts with its send time (ms, little-endian
    double): no rounds, the worker reports ("done", index, the delays in ms) when stopped.
    """

    port: int
    mark: str = "/bare"
    expected: int = 0
    reply_bytes: int = 0
    stamped: bool = False
    settle_s: float = 0.5


def bare_worker(index: int, accounts: list[tuple[str, str, str]], bare: Bare, events: Any, stop: Any) -> None:
    """Plain subscribers: (user, password, topic filter) each, in one process on the simulator's event loop."""
    from ruralcast_terminal import topics
    from ruralcast_terminal.mqtt import run_event_loop

    async def main() -> None:
        arrivals: list[float] = []
        delays: list[int] = []

        def counted(message: Any) -> bool:
            if bare.mark not in message.topic:
                return False
            now = time.time()
            arrivals.append(now)
            if bare.stamped:
                (sent,) = struct.unpack_from("<d", message.payload)
                delays.append(int(now * 1000 - sent))
            return True

        def arrived(message: Any) -> None:
            counted(message)

        subscribed = [(user, password, [(topic_filter, 1)]) for user, password, topic_filter in accounts]
        clients = await connected_clients(subscribed, port=bare.port, on_message=arrived)
        if bare.reply_bytes:
            reply = b"r" * bare.reply_bytes
            for (user, _password, _filter), client in zip(accounts, clients, strict=True):

                def answer(message: Any, client: Any = client, topic: str = topics.uplink_topic(user, "bench")) -> None:
                    if counted(message):
                        client.publish_nowait(topic, reply, qos=1)

                client.on_message = answer
        await asyncio.sleep(bare.settle_s)  # subscriptions acknowledged, retained messages delivered
        events.put(("ready", index))
        expected = bare.expected or len(clients)
        rounds = 0
        while not stop.is_set():
            if not bare.stamped and len(arrivals) >= (rounds + 1) * expected:
                events.put(("round", index, max(arrivals[rounds * expected : (rounds + 1) * expected])))
                rounds += 1
            await asyncio.sleep(0.005)
        if bare.stamped:
            await asyncio.sleep(1.0)  # the stream's last messages
            events.put(("done", index, delays))
        await asyncio.gather(*(client.disconnect() for client in clients))

    run_event_loop(main())  # the same event loop as the simulator's workers


def bare_workers(accounts: Sequence[tuple[str, str, str]], processes: int, bare: Bare) -> tuple[list[Any], Any, Any]:
    """`bare_worker`s over `processes` spawned processes, the accounts dealt out in turn; returns
    (workers, events, stop) once every worker has put ("ready", …) on `events`."""
    context = multiprocessing.get_context("spawn")
    events, stop = context.Queue(), context.Event()
    shares = [list(accounts[i::processes]) for i in range(processes)]
    workers = [
        context.Process(target=bare_worker, args=(index, share, bare, events, stop), daemon=True)
        for index, share in enumerate(shares)
        if share
    ]
    for worker in workers:
        worker.start()
    for _ in workers:
        assert events.get(timeout=300)[0] == "ready"
    return workers, events, stop


def bare_stop(workers: list[Any], stop: Any) -> None:
    stop.set()
    for worker in workers:
        worker.join(timeout=30)


# ---------------------------------------------------------------------------------------------
# The terminal package's benchmarks (terminal/bench_*.py) know nothing of the platform; `make bench`
# runs them through this, so their lines land in docs/benchmarks.md like the others':
#     python bench/common.py terminal/bench_crypto.py [ARG ...]


def record_script(script: str, arguments: Sequence[str]) -> dict[str, Any]:
    """Run `script` with this Python, and record the last JSON object it printed under the name
    it gives itself (its "bench": terminal.crypto), else terminal-<script> (bench_x.py → terminal-x)."""
    output = subprocess.run([sys.executable, script, *arguments], cwd=ROOT, capture_output=True, text=True, check=False)
    lines = [line for line in output.stdout.splitlines() if line.startswith("{")]
    if output.returncode or not lines:
        sys.stderr.write(output.stderr[-4000:])
        raise SystemExit(f"{script} failed (exit {output.returncode})")
    figures = json.loads(lines[-1])
    name = str(figures.pop("bench", "terminal-" + Path(script).stem.removeprefix("bench_")))
    return record(name, {"command": " ".join([script, *arguments]), **figures})


if __name__ == "__main__":
    if len(sys.argv) < 2:
        raise SystemExit("usage: python bench/common.py SCRIPT [ARG ...]")
    record_script(sys.argv[1], sys.argv[2:])
