"""bench/api/cpu.py: the CPU accounting of the API benchmark counts what it must, once.

Real processes, no mocks: a small process tree stands in for a server (gunicorn, Celery,
the postmaster), its children burn a known amount of CPU and report it.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from bench.api.cpu import PostgresCpu, TreeCpu, backend_database, parse_stat

# A child: burn `seconds` of CPU, print the CPU this process used in all, then live until its
# stdin closes.
BURN = """
import sys, time
end = time.process_time() + float(sys.argv[1])
while time.process_time() < end:
    pass
print(time.process_time(), flush=True)
sys.stdin.read()
"""
# A child that shows its parent's title for a moment before taking its own (a backend is
# forked with the postmaster's command line and sets its title just after).
LATE = """
import os, sys, time
time.sleep(0.2)
os.execv(sys.executable, [sys.argv[1], "-c", sys.argv[2], sys.argv[3]])
"""
# A parent standing in for a server: says "ready", then on a line on stdin runs one child per
# (title, seconds, reap|live|late) triple (argv[0] = title, as PostgreSQL titles its
# backends), prints what they reported, having ended and reaped the "reap" and "late" ones;
# the "live" ones run on until the parent's stdin closes.
PARENT = """
import subprocess, sys
BURN, LATE = sys.argv[1:3]
triples = list(zip(sys.argv[3::3], sys.argv[4::3], sys.argv[5::3]))
print("ready", flush=True)
sys.stdin.readline()
children = [
    subprocess.Popen(
        [sys.executable, "-c", LATE, title, BURN, seconds] if mode == "late"
        else [title, "-c", BURN, seconds],
        executable=sys.executable, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )
    for title, seconds, mode in triples
]
reports = []
for child, (_, _, mode) in zip(children, triples):
    reports.append(child.stdout.readline().strip())
    if mode != "live":
        child.stdin.close()
        child.wait()
print(" ".join(reports), flush=True)
sys.stdin.read()
for child in children:
    child.stdin.close()
    child.wait()
"""
# Tick-based kernel accounting and the sampling interval make small differences.
SLACK = 0.06
# What the parent itself spends starting its children and collecting their output.
PARENT_WORK = 0.15


@pytest.fixture
def server():
    """Start an idle parent with children to run, given as (title, seconds, reap|live|late)."""
    started = []

    def start(*children: tuple[str, float, str]):
        arguments = [str(part) for child in children for part in child]
        parent = subprocess.Popen(
            [sys.executable, "-c", PARENT, BURN, LATE, *arguments],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        started.append(parent)
        assert parent.stdout.readline() == "ready\n"

        def run() -> list[float]:
            parent.stdin.write("go\n")
            parent.stdin.flush()
            return [float(value) for value in parent.stdout.readline().split()]

        return parent.pid, run

    yield start
    for parent in started:
        parent.stdin.close()
        parent.wait(timeout=10)


def test_a_child_that_exited_during_the_window_is_counted_once(server):
    pid, run = server(("child", 0.3, "reap"))
    meter = TreeCpu(pid)
    meter.start()
    (child_cpu,) = run()  # the child has ended and been reaped when this returns
    used = meter.stop()
    assert child_cpu >= 0.3
    assert child_cpu - SLACK <= used <= child_cpu + PARENT_WORK


def test_a_child_still_running_at_the_end_is_counted(server):
    pid, run = server(("child", 0.3, "live"))
    meter = TreeCpu(pid)
    meter.start()
    (child_cpu,) = run()
    used = meter.stop()
    assert child_cpu - SLACK <= used <= child_cpu + PARENT_WORK


def test_a_process_outside_the_tree_is_not_counted(server):
    pid, _ = server()
    _, other_run = server(("child", 0.3, "reap"))
    meter = TreeCpu(pid)
    meter.start()
    other_run()
    assert meter.stop() < SLACK


def test_the_backends_of_other_databases_are_left_out_of_the_servers_cpu(server):
    ours_title = "postgres: 15/main: postgres bench_db 127.0.0.1(40000) idle"
    other_title = "postgres: 15/main: postgres someone_elses_db 127.0.0.1(40002) idle"
    pid, run = server((ours_title, 0.3, "reap"), (other_title, 0.3, "reap"))
    meter = PostgresCpu(pid, "bench_db", interval=0.01)
    meter.start()
    ours, other = run()
    window = meter.stop()
    assert window.other_connections == 1
    assert other - SLACK <= window.other_databases <= other + SLACK
    assert ours + other - SLACK <= window.server <= ours + other + PARENT_WORK
    assert ours - SLACK <= window.ours <= ours + PARENT_WORK


def test_a_backend_seen_before_it_took_its_title_is_still_told_by_it(server):
    other_title = "postgres: 15/main: postgres someone_elses_db 127.0.0.1(40004) idle"
    pid, run = server((other_title, 0.3, "late"))
    meter = PostgresCpu(pid, "bench_db", interval=0.01)
    meter.start()
    (other,) = run()
    window = meter.stop()
    assert window.other_connections == 1
    assert other - SLACK <= window.other_databases <= other + SLACK


@pytest.mark.parametrize(
    ("title", "database"),
    [
        ("postgres: 15/main: postgres flowviz_api 127.0.0.1(37656) idle", "flowviz_api"),
        ("postgres: 15/main: app flowviz [local] SELECT", "flowviz"),
        ("postgres: postgres flowviz_floor 10.0.0.7(5000) idle in transaction", "flowviz_floor"),
        ("postgres: flowviz flowviz 172.18.0.5(41234) COMMIT", "flowviz"),
        ("postgres: 15/main: checkpointer", None),
        ("postgres: background writer", None),
        ("postgres: 15/main: logical replication launcher", None),
        ("postgres: 15/main: parallel worker for PID 4242", None),
        ("/usr/lib/postgresql/15/bin/postgres -D /var/lib/postgresql/15/main", None),
        (None, None),
    ],
)
def test_a_backend_is_told_by_its_process_title(title, database):
    assert backend_database(title) == database


def test_the_stat_line_is_read_past_a_command_name_with_spaces_and_parentheses():
    line = "4242 (a (b) c) S 1 4242 4242 0 -1 4194304 10 0 0 0 17 5 33 4 20 0 1 0 777 0 0"
    stat = parse_stat(line)
    assert (stat.pid, stat.ppid, stat.utime, stat.stime, stat.cutime, stat.cstime, stat.starttime) == (
        4242,
        1,
        17,
        5,
        33,
        4,
        777,
    )
