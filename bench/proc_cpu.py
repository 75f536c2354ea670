"""CPU seconds of groups of processes over a phase of the benchmark (psutil).

A sampler thread reads each group's processes every `interval` seconds, so processes that
start and exit during the phase (pool children, PostgreSQL backends) are counted up to
their last sample; a process alive at the phase's start counts only what it used since.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import psutil


@dataclass
class Snapshot:
    """Every process on the machine, read once per discovery and shared by all groups: each
    group scanning /proc on its own cost the bench driver about 5% of the machine's CPU
    (0.9 ms a crawled page on `typical`, nine scans a second), taken from the crawl."""

    processes: list[psutil.Process]
    children: dict[int, list[psutil.Process]]

    @classmethod
    def take(cls) -> Snapshot:
        processes = list(psutil.process_iter(["ppid", "name", "cmdline"]))
        children: dict[int, list[psutil.Process]] = {}
        for process in processes:
            children.setdefault(process.info["ppid"], []).append(process)
        return cls(processes, children)


# A group yields the processes it owns right now, found in a snapshot of the machine's.
Finder = Callable[[Snapshot], Iterable[psutil.Process]]


def tree(*pids: int) -> Finder:
    """The processes `pids` and all their descendants."""

    def find(snapshot: Snapshot) -> list[psutil.Process]:
        found: list[psutil.Process] = []
        for pid in pids:
            try:
                found.append(psutil.Process(pid))
            except psutil.Error:
                continue
            parents = [pid]
            while parents:
                offspring = [
                    child for parent in parents for child in snapshot.children.get(parent, [])
                ]
                found += offspring
                parents = [child.pid for child in offspring]
        return found

    return find


def single(pid: int) -> Finder:
    """The process `pid` alone (not its children)."""

    def find(snapshot: Snapshot) -> list[psutil.Process]:
        try:
            return [psutil.Process(pid)]
        except psutil.Error:
            return []

    return find


def matching(predicate: Callable[[psutil.Process], bool]) -> Finder:
    """The processes for which `predicate` (given `.info` with name and cmdline) is true."""

    def find(snapshot: Snapshot) -> list[psutil.Process]:
        return [process for process in snapshot.processes if predicate(process)]

    return find


def _cpu(process: psutil.Process) -> float:
    times = process.cpu_times()
    return float(times.user + times.system)


def _peak_rss(process: psutil.Process) -> int:
    """The process's peak resident set since it started (the kernel's VmHWM), in bytes:
    a spike between two samples still counts."""
    try:
        with open(f"/proc/{process.pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    return 0


def _busy(times: psutil._common.scputimes) -> float:
    # guest time is already inside user time, and idle/iowait are not work.
    names = ("user", "nice", "system", "irq", "softirq", "steal")
    return float(sum(getattr(times, name, 0.0) for name in names))


@dataclass
class _Group:
    finder: Finder
    baseline: dict[tuple[int, float], float] = field(default_factory=dict)
    latest: dict[tuple[int, float], float] = field(default_factory=dict)
    peak_rss: dict[tuple[int, float], int] = field(default_factory=dict)  # bytes


class CpuMeter:
    def __init__(
        self, groups: dict[str, Finder], interval: float = 0.5, discover_every: int = 2
    ) -> None:
        self.groups = {name: _Group(finder) for name, finder in groups.items()}
        self.interval = interval
        # Finding processes scans /proc, which costs far more than reading known ones. The
        # meter runs beside the crawl it measures, on the same 2 cores: it samples twice a
        # second and looks for new processes once a second (workers keep their processes
        # and database connections, so few start or end during a phase).
        self.discover_every = discover_every
        self._known: dict[str, list[psutil.Process]] = {}
        self._ticks = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._lock = threading.Lock()
        self.started = self.stopped = 0.0
        self._machine_start: psutil._common.scputimes | None = None
        self.machine_busy = 0.0

    def _sample(self, *, baseline: bool = False, discover: bool = True) -> None:
        with self._lock:
            snapshot = Snapshot.take() if discover or len(self._known) < len(self.groups) else None
            for name, group in self.groups.items():
                if snapshot is not None:
                    self._known[name] = list(group.finder(snapshot))
                for process in self._known[name]:
                    try:
                        key = (process.pid, process.create_time())
                        value = _cpu(process)
                    except psutil.Error:
                        continue
                    if baseline:
                        group.baseline[key] = value
                    group.latest[key] = value
                    group.peak_rss[key] = max(group.peak_rss.get(key, 0), _peak_rss(process))

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self._ticks += 1
            self._sample(discover=self._ticks % self.discover_every == 0)

    def __enter__(self) -> CpuMeter:
        self._machine_start = psutil.cpu_times()
        self._sample(baseline=True)
        self.started = time.monotonic()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()
        self.stopped = time.monotonic()
        end = psutil.cpu_times()
        assert self._machine_start is not None
        self.machine_busy = _busy(end) - _busy(self._machine_start)

    def peak_rss(self) -> dict[str, tuple[int, int]]:
        """Per group: (the largest peak RSS of one of its processes in bytes, processes)."""
        with self._lock:
            return {
                name: (max(group.peak_rss.values(), default=0), len(group.peak_rss))
                for name, group in self.groups.items()
            }

    def seconds(self) -> dict[str, float]:
        with self._lock:
            return {
                name: sum(
                    value - group.baseline.get(key, 0.0) for key, value in group.latest.items()
                )
                for name, group in self.groups.items()
            }
