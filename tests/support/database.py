"""Real PostgreSQL faults for end-to-end tests: a table lock held from a connection of the
test's own, the server-side termination of another process's backend, and this process's
ORM pointed at another server (one the test can stop)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from django.conf import settings
from django.db import connection

Connection = psycopg.Connection[tuple[object, ...]]


def _connect(*, autocommit: bool = False) -> Connection:
    database = settings.DATABASES["default"]
    return psycopg.connect(
        host=str(database["HOST"]),
        port=str(database["PORT"]),
        user=str(database["USER"]),
        password=str(database["PASSWORD"] or "") or None,
        dbname=str(database["NAME"]),
        autocommit=autocommit,
    )


class LockHolder:
    def __init__(self, observer: Connection) -> None:
        # Apart from the locking transaction: pg_stat_activity is a snapshot per transaction.
        self.connection = observer

    def blocked_backends(self, query_prefix: str) -> list[int]:
        """Backends of this database waiting on a lock while running `query_prefix...`."""
        rows = self.connection.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
            " AND pid <> pg_backend_pid() AND wait_event_type = 'Lock'"
            " AND query LIKE %s ORDER BY pid",
            [query_prefix.replace("%", r"\%") + "%"],
        ).fetchall()
        return [int(str(pid)) for (pid,) in rows]

    def terminate(self, pid: int) -> bool:
        """pg_terminate_backend: the server drops that client's connection mid-query."""
        row = self.connection.execute("SELECT pg_terminate_backend(%s)", [pid]).fetchone()
        return bool(row and row[0])

    def backend_alive(self, pid: int) -> bool:
        row = self.connection.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE pid = %s", [pid]
        ).fetchone()
        return bool(row and row[0])


@contextmanager
def table_locked(table: str) -> Iterator[LockHolder]:
    """Hold an EXCLUSIVE lock on `table` until the block ends: reads go on, writes wait."""
    with _connect() as locker, _connect(autocommit=True) as observer:
        locker.execute(f'LOCK TABLE "{table}" IN EXCLUSIVE MODE')
        try:
            yield LockHolder(observer)
        finally:
            locker.rollback()


@contextmanager
def django_database_at(*, port: int, name: str) -> Iterator[None]:
    """This process's default database is `name` on 127.0.0.1:`port` inside the block.

    The connection's settings are the test settings' own dict (pytest-django renamed the
    database in it), so they are changed in place and restored, closing the connection on
    each side so that no query crosses over.
    """
    fields = ("HOST", "PORT", "NAME")
    saved = {field: connection.settings_dict[field] for field in fields}
    connection.close()
    connection.settings_dict.update({"HOST": "127.0.0.1", "PORT": str(port), "NAME": name})
    try:
        yield
    finally:
        connection.close()
        connection.settings_dict.update(saved)
