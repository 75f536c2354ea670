"""The one launcher of the local stack and of `make run`'s services.

    python3 -m scripts.launcher stack up|down|status|restart     (from the repository root)
    python3 -m scripts.launcher browser
    python3 -m scripts.launcher services up|down|restart

`stack up` brings up, idempotently and on 127.0.0.1 only: PostgreSQL and Redis (used as
they are when they answer, started or installed with apt otherwise), LocalStack for SQS
and S3 and moto for DynamoDB (each from its own virtualenv in .venvs/, rebuilt when its
requirements change). `services up` starts the API (gunicorn), one Celery worker per
queue, celery beat and the demo site, with the caller's environment (the Makefile's run
settings). `down` stops exactly what this checkout started, after checking each
process's command line (scripts/processes.py); servers it found running are left alone.

Settings (environment): LOCALSTACK_PORT (4566), MOTO_PORT (4569), POSTGRES_PORT (5432),
REDIS_PORT (6379), POSTGRES_CLUSTER (main: the Debian cluster to start when PostgreSQL
does not answer), STACK_READY_TIMEOUT (120 s), STACK_STOP_GRACE (10 s), PYTHON (the
interpreter that builds the virtualenvs), API_PORT (8000), DEMO_PORT (8765),
WORKER_CONCURRENCY (2), WORKER_NICE (10: the Celery workers' CPU priority below the API's, on
this one host; 0 for none), ISIDORUS_NAMESPACE (isidorus). Standard library only: `make test`
runs it while the project's virtualenv is still being built.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import hashlib
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

from scripts import venvs
from scripts.processes import (
    REPO_ROOT,
    STACK_DIR,
    Recorded,
    is_alive,
    lower_priority,
    process_tree,
)

SCRIPTS_DIR = REPO_ROOT / "scripts"
VENVS_DIR = venvs.VENVS_DIR
LOCALSTACK_VERSION = "4.13.1"
STAGES = ("scraper", "writer", "image-extractor", "page-summarizer", "webhooks")

POSTGRES = Recorded("postgres", "postgres")
REDIS = Recorded("redis", "redis-server")
LOCALSTACK = Recorded("localstack", "localstack.runtime.main")
MOTO = Recorded("moto", "moto_server")


class LaunchError(RuntimeError):
    pass


def _nice(variable: str, default: int) -> int:
    raw = os.environ.get(variable, str(default))
    if not raw.isdigit() or not 0 <= int(raw) <= 19:
        raise LaunchError(f"{variable}={raw} is not a nice value from 0 to 19")
    return int(raw)


def _port(variable: str, default: int) -> int:
    raw = os.environ.get(variable, str(default))
    if not raw.isdigit() or not 1 <= int(raw) <= 65535:
        raise LaunchError(f"{variable}={raw} is not a TCP port")
    return int(raw)


def _seconds(variable: str, default: int) -> int:
    raw = os.environ.get(variable, str(default))
    if not raw.isdigit():
        raise LaunchError(f"{variable}={raw} is not a number of seconds")
    return int(raw)


def say(scope: str, message: str) -> None:
    print(f"{scope}: {message}", flush=True)


def warn(scope: str, message: str) -> None:
    print(f"{scope}: warning: {message}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------- environment


def _no_real_aws() -> None:
    """Nothing may reach real AWS: fixed test credentials, no EC2 metadata probe, no
    profile or stray endpoint from the caller's shell, and no proxy for loopback."""
    os.environ.update(
        AWS_ACCESS_KEY_ID="test",
        AWS_SECRET_ACCESS_KEY="test",
        AWS_DEFAULT_REGION="us-east-1",
        AWS_REGION="us-east-1",
        AWS_EC2_METADATA_DISABLED="true",
    )
    for name in (
        "AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_SQS",
        "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL_DYNAMODB",
    ):  # fmt: skip
        os.environ.pop(name, None)
    no_proxy = ",".join(
        filter(None, ["127.0.0.1,localhost,.localhost", os.environ.get("NO_PROXY")])
    )
    os.environ["NO_PROXY"] = os.environ["no_proxy"] = no_proxy


@contextlib.contextmanager
def stack_lock(timeout: float = 900) -> Iterator[None]:
    """One launcher at a time per checkout (`make -j` runs several targets at once)."""
    STACK_DIR.mkdir(parents=True, exist_ok=True)
    VENVS_DIR.mkdir(parents=True, exist_ok=True)
    with (STACK_DIR / "lock").open("w") as lock:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise LaunchError(f"another launcher holds {STACK_DIR / 'lock'}") from None
                time.sleep(0.5)
        yield


# ---------------------------------------------------------------- probes


def port_answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2):
            return True
    except OSError:
        return False


def postgres_answers(port: int) -> bool:
    if shutil.which("pg_isready"):
        command = ["pg_isready", "-q", "-t", "3", "-h", "127.0.0.1", "-p", str(port)]
        return subprocess.run(command, check=False).returncode == 0
    return port_answers(port)


def redis_answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as connection:
            connection.sendall(b"PING\r\n")
            return connection.recv(64).startswith(b"+PONG")
    except OSError:
        return False


def emulator_ready(name: str, port: int, timeout: float, pid: int | None) -> str | None:
    """None when the emulator serves requests, else why not (scripts/emulator_ready.py)."""
    command = [str(VENVS_DIR / name / "bin" / "python"), str(SCRIPTS_DIR / "emulator_ready.py")]
    command += [name, str(port), str(timeout)] + ([str(pid)] if pid else [])
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    return None if result.returncode == 0 else (result.stderr.strip() or "not ready")


def wait_until(name: str, probe: Callable[[], bool], timeout: float, log: Recorded) -> None:
    deadline = time.monotonic() + timeout
    while not probe():
        if time.monotonic() >= deadline:
            raise LaunchError(f"{name}: no answer after {timeout:.0f}s\n{log.log_tail()}")
        time.sleep(1)


# ---------------------------------------------------------------- virtualenvs and packages


def inputs_hash(*files: Path) -> str:
    """Hash of everything a virtualenv is built from; it is rebuilt when this changes."""
    version = subprocess.run(
        [venvs.base_python(), "-c", "import sys; print(sys.version)"],
        capture_output=True, check=True,
    ).stdout  # fmt: skip
    digest = hashlib.sha256(version)
    for file in files:
        digest.update(file.read_bytes())
    return digest.hexdigest()


def ensure_venv(component: Recorded, requirements: Path, constraints: Path | None = None) -> None:
    venv = VENVS_DIR / component.name
    marker = venv / ".stack-inputs.sha256"
    hashed = [requirements] + ([constraints] if constraints else [])
    want = inputs_hash(*hashed)
    python = venv / "bin" / "python"
    if marker.exists() and marker.read_text().strip() == want and python.exists():
        return
    # A server must not keep running from a virtualenv that is being replaced.
    stop_component(component)
    log = STACK_DIR / f"pip-{component.name}.log"
    say("stack", f"{component.name}: building {venv} (install log: {log})")
    shutil.rmtree(venv, ignore_errors=True)
    try:
        venvs.install(venv, requirements, constraints=constraints, log=log)
    except venvs.InstallError as failed:
        raise LaunchError(f"{component.name}: {failed}") from None
    marker.write_text(want + "\n")


def localstack_constraints() -> Path:
    for candidate in (
        REPO_ROOT.parent / "shared" / "localstack" / f"constraints-{LOCALSTACK_VERSION}.txt",
        SCRIPTS_DIR / f"localstack-constraints-{LOCALSTACK_VERSION}.txt",
    ):
        if candidate.is_file():
            return candidate
    raise LaunchError(f"no LocalStack constraints file for {LOCALSTACK_VERSION}")


def install_packages(*packages: str) -> None:
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        raise LaunchError(
            f"{' '.join(packages)} not installed. Install it (e.g. sudo apt-get install -y "
            f"{' '.join(packages)}) or start it on 127.0.0.1 yourself, then rerun."
        )
    say("stack", f"installing {' '.join(packages)} with apt-get")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    # Waits for the dpkg lock: `make test` may install the browser beside the stack.
    apt = ["apt-get", "-o", "DPkg::Lock::Timeout=300"]
    subprocess.run([*apt, "update", "-qq"], env=env, check=True)
    subprocess.run([*apt, "install", "-y", "-qq", *packages], env=env, check=True)


# ---------------------------------------------------------------- PostgreSQL and Redis


def _postgres_version(cluster: str) -> str:
    versions = sorted(
        (path.parent.name for path in Path("/etc/postgresql").glob(f"*/{cluster}")),
        key=lambda version: [int(part) for part in version.split(".") if part.isdigit()],
    )  # fmt: skip
    if not versions:
        raise LaunchError(f"postgres: no cluster '{cluster}' under /etc/postgresql")
    return versions[-1]


def start_postgres(port: int, cluster: str) -> None:
    version = _postgres_version(cluster)
    hba = STACK_DIR / "pg_hba.conf"
    # Trust on loopback, as on the project's machines: only for a cluster started here.
    hba.write_text(
        "# Written by scripts/launcher.py for a cluster it started: loopback only, trust.\n"
        "local all all trust\nhost all all 127.0.0.1/32 trust\n"
    )
    hba.chmod(0o644)
    say("stack", f"postgres: starting cluster {version}/{cluster}")
    options = f"-c listen_addresses=127.0.0.1 -c port={port} -c hba_file={hba}"
    subprocess.run(
        [
            "pg_ctlcluster", "--skip-systemctl-redirect", version, cluster,
            "start", "--", "-o", options,
        ],
        stdin=subprocess.DEVNULL, check=True,
    )  # fmt: skip
    listing = subprocess.run(["pg_lsclusters", "-h"], capture_output=True, text=True, check=True)
    for line in listing.stdout.splitlines():
        fields = line.split()
        if fields[:2] == [version, cluster]:
            data = Path(fields[5])
            POSTGRES.record(int((data / "postmaster.pid").read_text().split()[0]))
    (STACK_DIR / "postgres.cluster").write_text(f"{version} {cluster}\n")


def ensure_postgres(port: int, cluster: str, timeout: float) -> None:
    if postgres_answers(port):
        say("stack", f"postgres: 127.0.0.1:{port} answers; using it")
        return
    if not shutil.which("pg_ctlcluster"):
        install_packages("postgresql")
        if postgres_answers(port):
            return
    start_postgres(port, cluster)
    wait_until("postgres", lambda: postgres_answers(port), timeout, POSTGRES)
    say("stack", f"postgres: started (pid {POSTGRES.pid()})")


def start_redis(port: int) -> None:
    STACK_DIR.mkdir(parents=True, exist_ok=True)
    REDIS.pid_file.unlink(missing_ok=True)
    subprocess.run(
        [
            "redis-server", "--daemonize", "yes", "--bind", "127.0.0.1", "--port", str(port),
            "--save", "", "--appendonly", "no", "--dir", str(STACK_DIR),
            "--pidfile", str(REDIS.pid_file), "--logfile", str(REDIS.log_path),
        ],
        stdin=subprocess.DEVNULL, check=True,
    )  # fmt: skip
    deadline = time.monotonic() + 5
    while REDIS.recorded_pid() is None:
        if time.monotonic() >= deadline:
            raise LaunchError(f"redis: no pid file after start\n{REDIS.log_tail()}")
        time.sleep(0.1)


def ensure_redis(port: int, timeout: float) -> None:
    if redis_answers(port):
        say("stack", f"redis: 127.0.0.1:{port} answers; using it")
        return
    if not shutil.which("redis-server"):
        install_packages("redis-server")
        if redis_answers(port):
            return
    start_redis(port)
    wait_until("redis", lambda: redis_answers(port), timeout, REDIS)
    say("stack", f"redis: started (pid {REDIS.pid()})")


# ---------------------------------------------------------------- LocalStack and moto


def start_localstack(port: int) -> None:
    filesystem = STACK_DIR / "localstack-fs"
    filesystem.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "SERVICES": "sqs,s3",
        "GATEWAY_LISTEN": f"127.0.0.1:{port}",
        "GATEWAY_SERVER": "hypercorn",
        "DNS_ADDRESS": "0",
        "DISABLE_EVENTS": "1",
        "SKIP_SSL_CERT_DOWNLOAD": "1",
        "OVERRIDE_IN_DOCKER": "0",
        "FILESYSTEM_ROOT": str(filesystem),
        "SQS_ENDPOINT_STRATEGY": "path",
        "LOCALSTACK_HOST": f"localhost:{port}",
        "PYTHONPATH": str(SCRIPTS_DIR / "localstack_sitecustomize"),
    }
    python = str(VENVS_DIR / "localstack" / "bin" / "python")
    LOCALSTACK.start([python, "-m", "localstack.runtime.main"], env=env)


def start_moto(port: int) -> None:
    # One request at a time: moto's conditional writes are not atomic under concurrency
    # (scripts/moto_server_serialized.py).
    python = str(VENVS_DIR / "moto" / "bin" / "python")
    server = str(SCRIPTS_DIR / "moto_server_serialized.py")
    MOTO.start([python, server, "-H", "127.0.0.1", "-p", str(port)])


def launch(component: Recorded, port: int, start: Callable[[int], None]) -> None:
    """Starts the emulator unless ours already runs on `port` or someone else serves it."""
    port_file = STACK_DIR / f"{component.name}.port"
    pid = component.pid()
    if pid is not None:
        if port_file.exists() and port_file.read_text().strip() == str(port):
            say("stack", f"{component.name}: already running (pid {pid})")
            return
        say("stack", f"{component.name}: ours runs on another port; restarting it on {port}")
        stop_component(component)
    component.pid_file.unlink(missing_ok=True)
    if port_answers(port):
        say(
            "stack",
            f"{component.name}: 127.0.0.1:{port} answers but was not started here; reusing it",
        )
        return
    start(port)
    port_file.write_text(f"{port}\n")
    say("stack", f"{component.name}: starting (pid {component.pid()}, log {component.log_path})")


def await_emulator(component: Recorded, port: int, timeout: float) -> None:
    pid = component.pid()
    problem = emulator_ready(component.name, port, timeout, pid)
    if problem is not None:
        if pid is None:
            raise LaunchError(
                f"{component.name}: 127.0.0.1:{port} is held by a process not started here "
                f"that does not work as {component.name}; stop it or choose another port"
            )
        raise LaunchError(f"{component.name}: not ready on 127.0.0.1:{port}: {problem}\n"
                          f"{component.log_tail()}")  # fmt: skip
    say("stack", f"{component.name}: ready on http://127.0.0.1:{port}")


# ---------------------------------------------------------------- loopback check


def check_loopback_only() -> None:
    """Fails if a server of ours listens anywhere but 127.0.0.1."""
    if not shutil.which("ss"):
        warn("stack", "ss not found; skipped the loopback-only check")
        return
    ours: set[int] = set()
    for component in (LOCALSTACK, MOTO, POSTGRES, REDIS):
        pid = component.pid()
        if pid is not None:
            ours |= process_tree(pid)
    if not ours:
        return
    listing = subprocess.run(["ss", "-Hltnp"], capture_output=True, text=True, check=True)
    bad = [
        line
        for line in listing.stdout.splitlines()
        if any(f"pid={pid}," in line for pid in ours)
        and not line.split()[3].startswith("127.0.0.1:")
    ]  # fmt: skip
    for line in bad:
        warn("stack", f"not loopback-only: {line}")
    if bad:
        raise LaunchError("a server of ours listens beyond 127.0.0.1")


# ---------------------------------------------------------------- stack commands


def stop_component(component: Recorded) -> None:
    grace = _seconds("STACK_STOP_GRACE", 10)
    pid = component.pid()
    if pid is None:
        component.pid_file.unlink(missing_ok=True)
        return
    if component is POSTGRES:
        cluster_file = STACK_DIR / "postgres.cluster"
        version, cluster = cluster_file.read_text().split()
        subprocess.run(
            ["pg_ctlcluster", "--skip-systemctl-redirect", version, cluster, "stop"], check=False
        )
        deadline = time.monotonic() + grace
        while is_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.2)
        cluster_file.unlink(missing_ok=True)
    stopped = component.stop(grace=grace)
    (STACK_DIR / f"{component.name}.port").unlink(missing_ok=True)
    say("stack", f"{component.name}: stopped ({len(stopped) or 1} process(es), pid {pid})")


def stack_up() -> None:
    started = time.monotonic()
    localstack_port, moto_port = _port("LOCALSTACK_PORT", 4566), _port("MOTO_PORT", 4569)
    postgres_port, redis_port = _port("POSTGRES_PORT", 5432), _port("REDIS_PORT", 6379)
    timeout = _seconds("STACK_READY_TIMEOUT", 120)
    with stack_lock():
        ensure_postgres(postgres_port, os.environ.get("POSTGRES_CLUSTER", "main"), timeout)
        ensure_redis(redis_port, timeout)
        ensure_venv(
            LOCALSTACK, SCRIPTS_DIR / "requirements-localstack.txt", localstack_constraints()
        )
        # LocalStack takes a while to boot: build moto's virtualenv meanwhile.
        launch(LOCALSTACK, localstack_port, start_localstack)
        ensure_venv(MOTO, SCRIPTS_DIR / "requirements-moto.txt")
        launch(MOTO, moto_port, start_moto)
        await_emulator(MOTO, moto_port, timeout)
        await_emulator(LOCALSTACK, localstack_port, timeout)
        check_loopback_only()
    say(
        "stack",
        f"up in {time.monotonic() - started:.0f}s: postgres 127.0.0.1:{postgres_port}, "
        f"redis 127.0.0.1:{redis_port}, sqs+s3 http://127.0.0.1:{localstack_port}, "
        f"dynamodb http://127.0.0.1:{moto_port}",
    )


def stack_down() -> None:
    with stack_lock():
        for component in (MOTO, LOCALSTACK, REDIS, POSTGRES):
            recorded = component.recorded_pid()
            if recorded is not None and component.pid() is None:
                say("stack", f"{component.name}: recorded pid {recorded} is gone; forgetting it")
            stop_component(component)
    say("stack", "down: nothing started by this checkout is running")


def stack_status() -> int:
    rows = [
        (POSTGRES, _port("POSTGRES_PORT", 5432), postgres_answers),
        (REDIS, _port("REDIS_PORT", 6379), redis_answers),
        (LOCALSTACK, _port("LOCALSTACK_PORT", 4566), _emulator_answers(LOCALSTACK)),
        (MOTO, _port("MOTO_PORT", 4569), _emulator_answers(MOTO)),
    ]
    failures = 0
    for component, port, probe in rows:
        up = probe(port)
        pid = component.pid()
        owner = f"started here, pid {pid}" if pid else "not started here"
        print(f"{component.name:<10} 127.0.0.1:{port:<5} {'up' if up else 'DOWN':<4} ({owner})")
        failures += not up
    return 1 if failures else 0


def _emulator_answers(component: Recorded) -> Callable[[int], bool]:
    def probe(port: int) -> bool:
        if (VENVS_DIR / component.name / "bin" / "python").exists():
            return emulator_ready(component.name, port, 3, None) is None
        return port_answers(port)

    return probe


def browser() -> None:
    """Debian's chromium and chromium-driver, for the dashboard's browser test."""
    if shutil.which("chromium") and shutil.which("chromedriver"):
        version = subprocess.run(["chromium", "--version"], capture_output=True, text=True)
        say("browser", f"{version.stdout.strip()}, chromedriver present")
        return
    install_packages("chromium", "chromium-driver")
    if not (shutil.which("chromium") and shutil.which("chromedriver")):
        raise LaunchError("browser: chromium or chromedriver still missing")


# ---------------------------------------------------------------- services of `make run`


def _service(name: str) -> Recorded:
    signature = (
        "gunicorn" if name == "run-api" else "demo_site.py" if name == "run-demo-site" else "celery"
    )
    return Recorded(name, signature)


def services_up() -> None:
    STACK_DIR.mkdir(parents=True, exist_ok=True)
    python = str(REPO_ROOT / ".venv" / "bin" / "python")
    api_port = _port("API_PORT", 8000)
    namespace = os.environ.get("ISIDORUS_NAMESPACE", "isidorus")
    concurrency = os.environ.get("WORKER_CONCURRENCY", "2")
    worker_nice = _nice("WORKER_NICE", 10)
    commands: dict[str, list[str]] = {
        "run-api": [
            str(REPO_ROOT / ".venv" / "bin" / "gunicorn"), "config.wsgi:application",
            "-c", str(REPO_ROOT / "config" / "gunicorn.conf.py"),
        ],
        **{
            f"run-worker-{stage}": [
                python, "-m", "celery", "-A", "config", "worker", "-Q", f"{namespace}-{stage}",
                "-n", f"{stage}@%h", "-c", concurrency,
                "--without-heartbeat", "--without-mingle", "--without-gossip", "-l", "INFO",
            ]
            for stage in STAGES
        },
        "run-beat": [python, "-m", "celery", "-A", "config", "beat", "-l", "INFO"],
        "run-demo-site": [
            python, str(SCRIPTS_DIR / "demo_site.py"), "--port", str(_port("DEMO_PORT", 8765)),
        ],
    }  # fmt: skip
    # One Prometheus multiprocess directory for this host's processes (/metrics adds them
    # up), emptied when none of them runs: stale files would count twice.
    metrics_dir = STACK_DIR / "metrics"
    if all(_service(name).pid() is None for name in commands):
        shutil.rmtree(metrics_dir, ignore_errors=True)
    metrics_dir.mkdir(exist_ok=True)
    env = {
        **os.environ,
        "ISIDORUS_API_BIND": f"127.0.0.1:{api_port}",
        "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
    }
    for name, command in commands.items():
        service = _service(name)
        pid = service.pid()
        if pid is not None:
            say("services", f"{name} already running (pid {pid})")
            continue
        pid = service.start(command, env=env)
        priority = ""
        if name.startswith("run-worker-") and worker_nice:
            priority = f", {lower_priority(pid, worker_nice)}"
        say("services", f"started {name} (pid {pid}{priority}, log .stack/{name}.log)")
    _await_health(f"http://127.0.0.1:{api_port}/health/", _service("run-api"))


def _await_health(url: str, api: Recorded, timeout: float = 60) -> None:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    deadline = time.monotonic() + timeout
    while True:
        try:
            with opener.open(url, timeout=5):
                say("services", f"API healthy on {url}")
                return
        except OSError as error:
            if time.monotonic() >= deadline:
                raise LaunchError(
                    f"API not healthy after {timeout:.0f}s: {error}\n{api.log_tail(20)}"
                ) from None
        time.sleep(0.5)


def services_down() -> None:
    for pid_file in sorted(STACK_DIR.glob("run-*.pid")):
        service = _service(pid_file.stem)
        recorded = service.recorded_pid()
        if service.pid() is None:
            if recorded is not None and is_alive(recorded):
                warn(
                    "services",
                    f"{service.name}: pid {recorded} is no longer {service.signature}; left alone",
                )
            service.pid_file.unlink(missing_ok=True)
            continue
        service.stop(grace=10)
        say("services", f"stopped {service.name} (pid {recorded})")


# ---------------------------------------------------------------- command line


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="group", required=True)
    sub.add_parser("stack").add_argument("action", choices=["up", "down", "status", "restart"])
    sub.add_parser("services").add_argument("action", choices=["up", "down", "restart"])
    sub.add_parser("browser")
    args = parser.parse_args(argv)
    os.chdir(REPO_ROOT)
    try:
        if args.group == "browser":
            browser()
        elif args.group == "services":
            if args.action in ("down", "restart"):
                services_down()
            if args.action in ("up", "restart"):
                services_up()
        else:
            _no_real_aws()
            if args.action == "status":
                return stack_status()
            if args.action in ("down", "restart"):
                stack_down()
            if args.action in ("up", "restart"):
                stack_up()
    except (LaunchError, subprocess.CalledProcessError) as error:
        print(f"{args.group}: error: {error}", file=sys.stderr, flush=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
