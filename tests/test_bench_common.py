"""bench/common.py: the parts every benchmark leans on (no Django, no broker needed)."""

import subprocess
import sys
import time
from pathlib import Path

import pytest

from bench.common import cpu_seconds, cpu_used, percentile, record_script

BUSY = "import time\nend = time.process_time() + 0.4\nwhile time.process_time() < end: pass\ntime.sleep(30)\n"


def test_cpu_seconds_counts_a_process_and_its_children():
    # A shell whose child burns 0.4 s of CPU: the role's figure includes the grandchild's time
    # (the simulator and `manage.py broker_run` run their work in children).
    shell = subprocess.Popen(["sh", "-c", f"{sys.executable} -c '{BUSY}'; true"])
    try:
        before = cpu_seconds({"role": [shell.pid]})
        deadline = time.monotonic() + 20
        used: dict[str, float] = {"role": 0.0}
        while used["role"] < 0.35 and time.monotonic() < deadline:
            time.sleep(0.1)
            used = cpu_used(before, cpu_seconds({"role": [shell.pid]}))
        assert 0.35 <= used["role"] < 5
    finally:
        subprocess.run(["pkill", "-P", str(shell.pid)], check=False)
        shell.kill()
        shell.wait()
    assert cpu_seconds({"gone": [shell.pid]}) == {"gone": 0.0}


def test_percentile_is_the_nearest_rank():
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 0.5) == 51.0
    assert percentile(values, 0.99) == 99.0
    assert percentile([3.0], 0.99) == 3.0


def test_record_script_records_the_scripts_last_json_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("BENCH_NO_RECORD", "1")
    script = tmp_path / "bench_probe.py"
    script.write_text('print("warming up")\nprint(\'{"n": 1}\')\nprint(\'{"bench": "probe.own", "n": 2}\')\n')
    line = record_script(str(script), ["--x"])
    assert (line["bench"], line["n"], line["command"]) == ("probe.own", 2, f"{script} --x")
    script.write_text("raise SystemExit(3)\n")
    with pytest.raises(SystemExit, match="failed"):
        record_script(str(script), [])
