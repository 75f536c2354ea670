"""The launcher stops only what it started: a recorded PID whose command line is no longer
ours is left alone, and a stopped process takes its whole tree with it."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

from config.queues import STAGES
from scripts import launcher
from scripts.processes import REPO_ROOT, Recorded, is_alive, lower_priority, process_tree, stop_tree

# A parent that starts a child in a session of its own (it leaves the parent's process
# group, as a daemonising server does), prints the child's PID, then waits.
PARENT_WITH_ESCAPED_CHILD = (
    "import subprocess, sys, time\n"
    "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(300)'],"
    " start_new_session=True)\n"
    "print(child.pid, flush=True)\n"
    "time.sleep(300)\n"
)


@pytest.fixture
def recorded() -> Iterator[Recorded]:
    record = Recorded(f"test-launcher-{os.getpid()}", "time.sleep(300)")
    yield record
    record.pid_file.unlink(missing_ok=True)
    record.log_path.unlink(missing_ok=True)


def _wait_for_line(path: os.PathLike[str], timeout: float = 10) -> str:
    deadline = time.monotonic() + timeout
    with open(path) as log:
        while time.monotonic() < deadline:
            line = log.readline()
            if line.strip():
                return line.strip()
            time.sleep(0.05)
    raise TimeoutError(f"nothing written to {path}")


def test_stopping_a_recorded_process_stops_its_children_even_those_that_left_its_group(
    recorded: Recorded,
) -> None:
    pid = recorded.start([sys.executable, "-c", PARENT_WITH_ESCAPED_CHILD])
    child = int(_wait_for_line(recorded.log_path))
    assert recorded.pid() == pid
    assert child in process_tree(pid)

    stopped = recorded.stop(grace=5)

    assert {pid, child} <= stopped
    assert not is_alive(pid)
    assert not is_alive(child)
    assert not recorded.pid_file.exists()


def test_a_recorded_pid_that_is_no_longer_ours_is_left_alone(recorded: Recorded) -> None:
    # The PID file names a live process whose command line lacks the signature: the PID
    # was reused by someone else's process, which must survive.
    stranger = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        recorded.record(stranger.pid)
        assert recorded.pid() is None
        assert recorded.stop(grace=1) == set()
        assert stranger.poll() is None
        assert not recorded.pid_file.exists()
    finally:
        stranger.kill()
        stranger.wait()


def test_services_down_leaves_a_reused_pid_alone() -> None:
    stranger = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    service = Recorded(f"run-test-{os.getpid()}", "celery")
    try:
        service.record(stranger.pid)
        launcher.services_down()
        assert stranger.poll() is None
        assert not service.pid_file.exists()
    finally:
        stranger.kill()
        stranger.wait()
        service.pid_file.unlink(missing_ok=True)


def test_the_launcher_starts_one_worker_per_declared_queue() -> None:
    assert launcher.STAGES == STAGES


def test_stack_status_names_every_component_and_its_owner() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "scripts.launcher", "stack", "status"],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    names = [line.split()[0] for line in result.stdout.splitlines()]
    assert names == ["postgres", "redis", "localstack", "moto"]
    assert all(" up " in line for line in result.stdout.splitlines())


def test_a_bad_port_is_refused_with_its_name() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "scripts.launcher", "stack", "status"],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=60, check=False,
        env={**os.environ, "MOTO_PORT": "70000"},
    )  # fmt: skip
    assert result.returncode == 1
    assert "MOTO_PORT=70000 is not a TCP port" in result.stderr


def test_a_worker_is_lowered_with_its_whole_session() -> None:
    """A child that forks later (as Celery's pool does) runs at the same priority, and with
    autogroup its session's group is lowered too: otherwise each session is one group
    with an equal share of the CPU, whatever its processes' nice values."""
    forks_later = "import os, time; time.sleep(0.5); os.fork() or time.sleep(300); time.sleep(300)"
    process = subprocess.Popen([sys.executable, "-c", forks_later], start_new_session=True)
    try:
        said = lower_priority(process.pid, 7)
        assert os.getpriority(os.PRIO_PROCESS, process.pid) == 7
        deadline = time.monotonic() + 10
        while len(process_tree(process.pid)) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        (child,) = process_tree(process.pid) - {process.pid}
        assert os.getpriority(os.PRIO_PROCESS, child) == 7
        group = f"/proc/{process.pid}/autogroup"
        if os.path.exists(group):
            with open(group) as line:
                assert line.read().strip().endswith("nice 7")
            assert said.startswith("nice 7, session group /autogroup-")
    finally:
        stop_tree(process.pid, grace=5)


@pytest.mark.parametrize("value", ["20", "-1", "ten"])
def test_a_bad_worker_nice_is_refused_with_its_name(
    value: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WORKER_NICE", value)
    with pytest.raises(launcher.LaunchError, match=f"WORKER_NICE={value} is not a nice value"):
        launcher._nice("WORKER_NICE", 10)
