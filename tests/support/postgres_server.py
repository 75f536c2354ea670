"""A PostgreSQL server of the test's own, in a temporary directory, so a test can stop and
start it under a running crawl. The machine's own server is never touched.

PostgreSQL refuses to run as root; as root (the dev machine and CI here) the server runs as
the `postgres` system user, which then owns the temporary directory.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

import psycopg

from tests.support.processes import free_port, wait_listening

ROLE = "postgres"


def _bin_dir() -> Path:
    found = shutil.which("pg_ctl")
    if found:
        return Path(found).resolve().parent
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(p.split("/")[-2]))
    if not versions:
        raise RuntimeError("pg_ctl not found: the PostgreSQL restart test needs PostgreSQL")
    return Path(versions[-1])


class OwnPostgres:
    def __init__(self) -> None:
        self.bin = _bin_dir()
        self.port = free_port()
        self.directory = Path(tempfile.mkdtemp(prefix="isidorus-pg-"))
        self.data = self.directory / "data"
        self.log_path = self.directory / "server.log"
        self._as: list[str] = []
        if os.geteuid() == 0:
            account = pwd.getpwnam(ROLE)
            os.chown(self.directory, account.pw_uid, account.pw_gid)
            self._as = ["runuser", "-u", ROLE, "--"]

    def _run(self, tool: str, *args: str) -> None:
        subprocess.run(
            [*self._as, str(self.bin / tool), *args],
            check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=60,
        )  # fmt: skip

    def url(self, database: str) -> str:
        return f"postgresql://{ROLE}@127.0.0.1:{self.port}/{database}"

    def init(self) -> OwnPostgres:
        self._run("initdb", "-D", str(self.data), "-U", ROLE, "--auth=trust", "-E", "UTF8",
                  "--no-sync")  # fmt: skip
        return self

    def start(self) -> None:
        # TCP on loopback only, the socket file in our own directory; fsync off because
        # only the server process restarts here, never the machine.
        options = f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.directory} -c fsync=off"
        self._run("pg_ctl", "start", "-D", str(self.data), "-l", str(self.log_path), "-w",
                  "-o", options)  # fmt: skip
        wait_listening(self.port, what="own PostgreSQL")

    def stop(self, *, mode: str = "immediate") -> None:
        """`immediate` ends every backend at once, as a crash would (recovery on start)."""
        self._run("pg_ctl", "stop", "-D", str(self.data), "-m", mode, "-w")

    def create_database(self, name: str) -> None:
        with psycopg.connect(self.url("postgres"), autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')

    def destroy(self) -> None:
        """Stop the server if it runs and remove its directory."""
        if (self.data / "postmaster.pid").exists():
            self.stop()
        shutil.rmtree(self.directory, ignore_errors=True)
