"""Starting and stopping the processes of this checkout: the one way the launcher, the
tests and the benches do it. Standard library only (the launcher runs before the
project's virtualenv exists).

A process is started in its own session (so its process group holds its children) and,
when it must outlive its starter, recorded in a pid file with what its command line must
contain. It is stopped only if the recorded PID is alive and its command line still says
it is ours (PIDs get reused), by SIGTERM to its group and to any descendant that left the
group, then SIGKILL after a grace period.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
STACK_DIR = REPO_ROOT / ".stack"


class ProcessError(RuntimeError):
    pass


def log_tail(path: Path, lines: int) -> str:
    """The last `lines` lines of a process's log ("" if it has none yet)."""
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


def command_line(pid: int) -> str | None:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None
    return raw.replace(b"\0", b" ").decode(errors="replace").strip()


def is_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie has exited; only its parent's wait is missing.
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def _parents_and_groups() -> dict[int, tuple[int, int]]:
    """{pid: (parent pid, process group)} of every process on the machine."""
    table: dict[int, tuple[int, int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rpartition(")")[2].split()
            table[int(entry.name)] = (int(fields[1]), int(fields[2]))
        except (OSError, IndexError, ValueError):
            continue
    return table


def process_tree(pid: int) -> set[int]:
    """The process, its process group, and every descendant (even one that left it)."""
    table = _parents_and_groups()
    tree = {pid} | {member for member, (_, group) in table.items() if group == pid}
    grew = True
    while grew:
        children = {child for child, (parent, _) in table.items() if parent in tree}
        grew = not children <= tree
        tree |= children
    return tree


def _signal_all(pids: Iterable[int], signum: int) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signum)


def _wait_gone(pids: Iterable[int], seconds: float) -> set[int]:
    """Waits until none of `pids` is alive or `seconds` pass; returns those still alive."""
    remaining = set(pids)
    deadline = time.monotonic() + seconds
    while True:
        remaining = {pid for pid in remaining if is_alive(pid)}
        if not remaining or time.monotonic() >= deadline:
            return remaining
        time.sleep(0.1)


def stop_tree(pid: int, *, grace: float, signum: int = signal.SIGTERM) -> set[int]:
    """`signum` to the process's group and descendants, SIGKILL after `grace` seconds to
    what is left. Returns the PIDs it stopped; raises if any survives SIGKILL."""
    tree = process_tree(pid)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGCONT)  # a frozen process would not act on SIGTERM
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signum)
    _signal_all(tree, signum)
    left = _wait_gone(tree, grace)
    if left:
        left |= {member for member in process_tree(pid) if is_alive(member)}
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signal.SIGKILL)
        _signal_all(left, signal.SIGKILL)
        survivors = _wait_gone(left, 5)
        if survivors:
            raise ProcessError(f"processes {sorted(survivors)} survived SIGKILL")
    return tree


def kill_group(pid: int) -> None:
    """SIGKILL a process and its group at once: no cleanup, the way a machine dies."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


def spawn(
    command: Sequence[str],
    *,
    log_path: Path,
    env: Mapping[str, str] | None = None,
    cwd: Path = REPO_ROOT,
) -> subprocess.Popen[bytes]:
    """Starts `command` in its own session, output to `log_path`, stdin closed, no
    inherited descriptors but the standard three."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("wb") as log:
        return subprocess.Popen(
            list(command),
            cwd=cwd,
            env=dict(env) if env is not None else None,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            close_fds=True,
        )


def lower_priority(pid: int, nice: int) -> str:
    """Run `pid`, and the processes it forks later, at `nice`, with its whole session.

    With the kernel's autogroup scheduling (/proc/sys/kernel/sched_autogroup_enabled),
    each session is one scheduling group and the CPU is first shared equally between the
    busy groups; a process's own nice value then weighs only against its session's other
    processes. spawn() gives every process its own session, so `nice` alone leaves a
    Celery worker level with the API. The group's nice (sched(7), "The autogroup
    feature") puts it behind. Returns what was set, for the log."""
    os.setpriority(os.PRIO_PROCESS, pid, nice)
    group = Path(f"/proc/{pid}/autogroup")
    try:
        group.write_text(f"{nice}\n")
        return f"nice {nice}, session group {group.read_text().strip()}"
    except OSError as error:  # no autogroup: the process's nice is what counts
        return f"nice {nice}, no session group ({error.strerror})"


@dataclass(frozen=True)
class Recorded:
    """A long-lived process of this checkout, known by `.stack/<name>.pid`; `signature`
    is what its command line must contain to still be ours."""

    name: str
    signature: str

    @property
    def pid_file(self) -> Path:
        return STACK_DIR / f"{self.name}.pid"

    @property
    def log_path(self) -> Path:
        return STACK_DIR / f"{self.name}.log"

    def recorded_pid(self) -> int | None:
        try:
            digits = "".join(ch for ch in self.pid_file.read_text() if ch.isdigit())
        except OSError:
            return None
        return int(digits) if digits else None

    def pid(self) -> int | None:
        """The recorded PID if it is alive and still ours, else None."""
        pid = self.recorded_pid()
        if pid is None or not is_alive(pid):
            return None
        line = command_line(pid)
        return pid if line is not None and self.signature in line else None

    def record(self, pid: int) -> None:
        STACK_DIR.mkdir(parents=True, exist_ok=True)
        self.pid_file.write_text(f"{pid}\n")

    def start(self, command: Sequence[str], *, env: Mapping[str, str] | None = None) -> int:
        if self.log_path.exists():
            self.log_path.replace(self.log_path.with_suffix(".log.1"))
        process = spawn(command, log_path=self.log_path, env=env)
        self.record(process.pid)
        return process.pid

    def stop(self, *, grace: float) -> set[int]:
        """Stops the process if it is still ours; forgets the record either way."""
        pid = self.pid()
        stopped = stop_tree(pid, grace=grace) if pid is not None else set()
        self.pid_file.unlink(missing_ok=True)
        return stopped

    def log_tail(self, lines: int = 40) -> str:
        return log_tail(self.log_path, lines)
