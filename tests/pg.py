"""A throwaway PostgreSQL cluster for the tests: initdb under a temporary directory, a server on a loopback
port, a fresh database per test. Debian's packages (`postgresql`); `.ci/run` installs them."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import uuid
from pathlib import Path

from .receivers import free_port


def find_bin(name: str) -> str | None:
    found = shutil.which(name) or sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))[-1:]
    return (found if isinstance(found, str) else (found[0] if found else None)) or None


class Cluster:
    def __init__(self) -> None:
        initdb, pg_ctl = find_bin("initdb"), find_bin("pg_ctl")
        if not initdb or not pg_ctl:
            raise RuntimeError("PostgreSQL is not installed (Debian: apt-get install postgresql)")
        self.pg_ctl = pg_ctl
        self.root = Path(tempfile.mkdtemp(prefix="watcher-pg-"))
        self.port = free_port()
        self._as_owner = (
            ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        )  # initdb refuses root
        if self._as_owner:
            shutil.chown(self.root, "postgres")
        data = self.root / "data"
        self._run(
            initdb, "-D", str(data), "-A", "trust", "-U", "watcher", "--no-sync", "-E", "UTF8", "--locale=C"
        )
        options = (
            f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.root} -c fsync=off -c max_connections=200"
        )
        self._run(pg_ctl, "-D", str(data), "-o", options, "-l", str(self.root / "log"), "-w", "start")

    def _run(self, *cmd: str) -> None:
        subprocess.run([*self._as_owner, *cmd], check=True, capture_output=True, cwd=self.root)

    def dsn(self, database: str = "postgres") -> str:
        return f"postgresql://watcher@127.0.0.1:{self.port}/{database}"

    def new_database(self) -> str:
        import psycopg

        name = "t_" + uuid.uuid4().hex[:12]
        with psycopg.connect(self.dsn(), autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name}")
        return self.dsn(name)

    def stop(self) -> None:
        subprocess.run([*self._as_owner, self.pg_ctl, "-D", str(self.root / "data"), "-m", "immediate", "stop"],
                       capture_output=True, cwd=self.root)  # fmt: skip
        shutil.rmtree(self.root, ignore_errors=True)
