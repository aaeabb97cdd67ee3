"""CPU time of process groups over a window, from /proc, exited processes included.

Sampling each process's /proc/<pid>/stat misses a process that starts and ends between two
samples (a PostgreSQL backend of a short connection, a forked helper). The kernel does not
lose that time: when a parent reaps a child (wait()), the child's utime + stime, plus what it
had itself reaped, are added to the parent's cutime + cstime. So the CPU used by a whole
process tree up to a moment is

    sum over the tree's live processes of utime + stime + cutime + cstime

and the difference of two such readings is the tree's CPU in between, counting every
process that opened and closed meanwhile. It holds for trees whose parents reap their
children (gunicorn's arbiter, Celery's prefork master and PostgreSQL's postmaster all do)
and whose children are not re-parented (daemonized). No cgroup is needed.

For a PostgreSQL server shared with other developers, `PostgresCpu` takes the postmaster's
whole tree (backends, checkpointer, WAL writer...) and subtracts what it sees the backends
of other databases use (sampled; see its docstring).
"""

from __future__ import annotations

import os
import re
import resource
import threading
from dataclasses import dataclass
from pathlib import Path

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PROC = Path("/proc")


@dataclass(frozen=True)
class ProcStat:
    """The fields of /proc/<pid>/stat used here (times in clock ticks)."""

    pid: int
    ppid: int
    utime: int
    stime: int
    cutime: int
    cstime: int
    starttime: int

    @property
    def own_ticks(self) -> int:
        return self.utime + self.stime

    @property
    def reaped_ticks(self) -> int:
        """CPU of the children this process has reaped (and of theirs)."""
        return self.cutime + self.cstime


def parse_stat(text: str) -> ProcStat:
    # The command name (field 2) may hold spaces and parentheses: split at the last ")".
    head, _, rest = text.rpartition(")")
    fields = rest.split()  # fields[0] is field 3 (state): field n is fields[n - 3]
    return ProcStat(
        pid=int(head.split(" (", 1)[0]),
        ppid=int(fields[1]),
        utime=int(fields[11]),
        stime=int(fields[12]),
        cutime=int(fields[13]),
        cstime=int(fields[14]),
        starttime=int(fields[19]),
    )


def read_stat(pid: int) -> ProcStat | None:
    """The process's stat, or None when it no longer exists."""
    try:
        return parse_stat((PROC / str(pid) / "stat").read_text())
    except (FileNotFoundError, ProcessLookupError):
        return None


def process_title(pid: int) -> str | None:
    """argv[0] as the process shows it (PostgreSQL writes its status there)."""
    try:
        raw = (PROC / str(pid) / "cmdline").read_bytes()
    except (FileNotFoundError, ProcessLookupError):
        return None
    return raw.split(b"\0", 1)[0].decode(errors="replace").strip()


def children(pid: int) -> list[int]:
    """The live children of a process (/proc/<pid>/task/*/children, else a scan of /proc)."""
    tasks = PROC / str(pid) / "task"
    try:
        found: list[int] = []
        for task in tasks.iterdir():
            found.extend(int(child) for child in (task / "children").read_text().split())
        return found
    except FileNotFoundError:
        if not tasks.exists():
            return []
    except ProcessLookupError:
        return []
    found = []
    for entry in PROC.iterdir():
        if entry.name.isdigit():
            stat = read_stat(int(entry.name))
            if stat is not None and stat.ppid == pid:
                found.append(stat.pid)
    return found


def tree_pids(root: int) -> list[int]:
    pids, pending = [], [root]
    while pending:
        pid = pending.pop()
        pids.append(pid)
        pending.extend(children(pid))
    return pids


def tree_ticks(root: int, attempts: int = 10) -> int:
    """CPU ticks used so far by the tree under `root`, reaped descendants included.

    A child reaped while the tree is being read could be counted twice (read alive, then in
    its parent's cutime) or not at all (parent read before, child gone after); so the tree is
    read again and the reading kept only when no process vanished and no cutime moved.
    """
    total = 0
    for _ in range(attempts):
        first = {pid: stat for pid in tree_pids(root) if (stat := read_stat(pid)) is not None}
        if root not in first:
            raise ProcessLookupError(f"process {root} is gone")
        total = sum(stat.own_ticks + stat.reaped_ticks for stat in first.values())
        again = {pid: read_stat(pid) for pid in first}
        if all(
            (now := again[pid]) is not None
            and now.starttime == stat.starttime
            and now.reaped_ticks == stat.reaped_ticks
            for pid, stat in first.items()
        ):
            return total
    return total


class TreeCpu:
    """CPU seconds of a process tree (a server's master and its workers) over a window."""

    def __init__(self, root: int) -> None:
        self.root = root
        self._start = 0

    def start(self) -> None:
        self._start = tree_ticks(self.root)

    def stop(self) -> float:
        return (tree_ticks(self.root) - self._start) / CLOCK_TICKS


# "postgres: [cluster_name: ]user database host(port)|[local] activity": a client backend.
# Auxiliary processes ("checkpointer", "background writer", "parallel worker for PID 7"...)
# have no host part and serve the whole server.
_BACKEND_TITLE = re.compile(
    r"^postgres: (?:\S+: )?(?P<user>\S+) (?P<database>\S+) (?:\[local\]|\S*\(\d+\))(?: |$)"
)


def backend_database(title: str | None) -> str | None:
    """The database a PostgreSQL client backend serves, from its process title; else None."""
    match = _BACKEND_TITLE.match(title or "")
    return match.group("database") if match else None


@dataclass
class PostgresWindow:
    """A PostgreSQL server's CPU over a window, in seconds."""

    server: float  # the postmaster's whole tree
    other_databases: float  # seen used by backends of other databases (subtracted below)
    other_connections: int  # backends of other databases seen during the window

    @property
    def ours(self) -> float:
        return max(self.server - self.other_databases, 0.0)


@dataclass
class _Backend:
    start_ticks: int  # its CPU when the window opened (0 if it started during the window)
    last_ticks: int = 0
    database: str | None = None
    # A process is forked with its parent's title (the postmaster's command line) and sets its
    # own ("postgres: ...") a moment later: until it has, it is looked at again.
    titled: bool = False

    def identify(self, pid: int) -> None:
        title = process_title(pid) or ""
        self.database = backend_database(title)
        self.titled = title.startswith("postgres: ")


class PostgresCpu:
    """CPU seconds a PostgreSQL server spends for one database over a window.

    The server's whole process tree (the postmaster's own time, every backend, the ones that
    connected and disconnected during the window included, and the checkpointer, WAL writer,
    autovacuum) by `tree_ticks`, minus the CPU of backends of OTHER databases: on a server
    shared with other developers their test runs would otherwise be charged to us. Those are
    watched by a sampling thread (every `interval` seconds): a foreign backend's CPU counts
    from the window's start (or its birth) to its last sighting. What remains unattributed -
    a foreign backend's last few milliseconds, or one that lived less than `interval` - stays
    in our figure; `other_connections` tells how busy the server was with others meanwhile.
    Auxiliary processes serve all databases and are counted whole.
    """

    def __init__(self, postmaster: int, database: str, interval: float = 0.05) -> None:
        self.postmaster = postmaster
        self.database = database
        self.interval = interval
        self._backends: dict[tuple[int, int], _Backend] = {}
        self._start = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _sample(self, opening: bool = False) -> None:
        for pid in children(self.postmaster):
            stat = read_stat(pid)
            if stat is None:
                continue
            key = (pid, stat.starttime)
            backend = self._backends.get(key)
            if backend is None:
                backend = self._backends[key] = _Backend(start_ticks=stat.own_ticks if opening else 0)
            if not backend.titled:
                backend.identify(pid)
            backend.last_ticks = stat.own_ticks

    def _sample_until_stopped(self) -> None:
        while not self._stop.wait(self.interval):
            self._sample()

    def start(self) -> None:
        self._backends = {}
        self._stop.clear()
        self._sample(opening=True)
        self._start = tree_ticks(self.postmaster)
        self._thread = threading.Thread(target=self._sample_until_stopped, daemon=True)
        self._thread.start()

    def stop(self) -> PostgresWindow:
        self._sample()
        server = tree_ticks(self.postmaster) - self._start
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        foreign = [b for b in self._backends.values() if b.database not in (None, self.database)]
        return PostgresWindow(
            server=server / CLOCK_TICKS,
            other_databases=sum(b.last_ticks - b.start_ticks for b in foreign) / CLOCK_TICKS,
            other_connections=len(foreign),
        )


def postmaster_of(backend_pid: int) -> int | None:
    """The postmaster of a backend (its parent), if this machine can see it; else None."""
    stat = read_stat(backend_pid)
    if stat is None or "postgres" not in (process_title(stat.ppid) or ""):
        return None
    return stat.ppid


def _machine_ticks() -> tuple[int, int]:
    """(busy, total) CPU ticks of all cores since boot, from /proc/stat."""
    values = [int(v) for v in (PROC / "stat").read_text().split("\n", 1)[0].split()[1:9]]
    user, nice, system, idle, iowait, irq, softirq, steal = values
    busy = user + nice + system + irq + softirq + steal
    return busy, busy + idle + iowait


class MachineCpu:
    """The machine's busy CPU over a window, and what the bench itself and its load generator
    (wrk, a child reaped during the window) used, to tell how much went to everyone else."""

    def start(self) -> None:
        self._machine = _machine_ticks()
        self._self = _own_seconds()

    def stop(self) -> tuple[float, float, float]:
        """(busy seconds of all cores, total core-seconds, seconds used by the bench + wrk)."""
        busy, total = _machine_ticks()
        return (
            (busy - self._machine[0]) / CLOCK_TICKS,
            (total - self._machine[1]) / CLOCK_TICKS,
            _own_seconds() - self._self,
        )


def _own_seconds() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    reaped = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + reaped.ru_utime + reaped.ru_stime


def load_average() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())
