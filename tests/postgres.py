"""A throwaway PostgreSQL server for the test session (Debian's `postgresql` package).

The server listens only on a unix socket in its own temporary directory, so parallel
sessions never collide on a port. PostgreSQL refuses to run as root: as root, the
cluster is created and run as the `postgres` user.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import uuid
from dataclasses import dataclass, field
from pathlib import Path

PORT = 5432  # only names the socket file; nothing listens on TCP


class PostgresUnavailable(Exception):
    """PostgreSQL cannot be started here; the message says why (shown as the skip reason)."""


def find_bin_dir() -> Path:
    """The newest installed PostgreSQL server's bin directory."""
    versions = [Path(p).parent.parent for p in glob.glob("/usr/lib/postgresql/*/bin/initdb")]
    versions.sort(key=lambda v: int(v.name) if v.name.isdigit() else 0)
    if versions:
        return versions[-1] / "bin"
    initdb = shutil.which("initdb")
    if initdb and shutil.which("pg_ctl"):
        return Path(initdb).resolve().parent
    raise PostgresUnavailable(
        "PostgreSQL server binaries (initdb, pg_ctl) not found: install Debian's "
        "`postgresql` package (scripts/ensure-services.sh does)"
    )


@dataclass
class PostgresServer:
    """A running temporary cluster; `dsn(db)` connects to database `db` as superuser."""

    bin_dir: Path
    root: Path
    user: str | None
    superuser: str = "govern"
    databases: list[str] = field(default_factory=list)

    @property
    def socket_dir(self) -> Path:
        """Where the server's unix socket is."""
        return self.root

    def dsn(self, dbname: str = "postgres") -> str:
        """A libpq connection string for `dbname`."""
        return f"host={self.socket_dir} port={PORT} user={self.superuser} dbname={dbname}"

    def _run(self, *args: str) -> None:
        cmd = [str(self.bin_dir / args[0]), *args[1:]]
        if self.user is not None:
            cmd = ["runuser", "-u", self.user, "--", *cmd]
        result = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        if result.returncode != 0:
            raise PostgresUnavailable(f"{args[0]} failed: {result.stderr.strip()[-500:]}")

    def start(self) -> None:
        """initdb and start the cluster."""
        data = self.root / "data"
        self._run(
            "initdb",
            "-D",
            str(data),
            "-U",
            self.superuser,
            "--auth=trust",
            "--encoding=UTF8",
            "--no-sync",
        )
        options = (
            f"-k {self.socket_dir} -p {PORT} -c listen_addresses='' -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off"
        )
        self._run(
            "pg_ctl",
            "-D",
            str(data),
            "-o",
            options,
            "-l",
            str(self.root / "log"),
            "-w",
            "-t",
            "60",
            "start",
        )

    def create_database(self) -> str:
        """A new empty database; its name."""
        import psycopg

        name = "t_" + uuid.uuid4().hex[:12]
        with psycopg.connect(self.dsn(), autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name}")
        self.databases.append(name)
        return name

    def stop(self) -> None:
        """Stop the cluster and delete its files."""
        try:
            self._run("pg_ctl", "-D", str(self.root / "data"), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


def start_server() -> PostgresServer:
    """Start a temporary cluster, or raise PostgresUnavailable saying why not."""
    try:
        import psycopg  # noqa: F401
    except ImportError:
        raise PostgresUnavailable("psycopg is not installed: pip install -e '.[dev]'") from None
    bin_dir = find_bin_dir()
    user = None
    root = Path(tempfile.mkdtemp(prefix="govern-pg-"))
    if os.geteuid() == 0:
        try:
            owner = pwd.getpwnam("postgres")
        except KeyError:
            shutil.rmtree(root)
            raise PostgresUnavailable("running as root and there is no `postgres` user") from None
        os.chown(root, owner.pw_uid, owner.pw_gid)
        user = "postgres"
    server = PostgresServer(bin_dir=bin_dir, root=root, user=user)
    try:
        server.start()
    except BaseException:
        shutil.rmtree(root, ignore_errors=True)
        raise
    return server
