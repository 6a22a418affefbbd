"""A throwaway PostgreSQL cluster on 127.0.0.1, for the team-mode tests.

`.ci/run` starts one before pytest and stops it afterwards, also on failure:

    python -m tests.pgcluster start DIR [--durable]  # prints the server's URL on stdout
    python -m tests.pgcluster stop DIR
    python -m tests.pgcluster restart DIR  # the stopped cluster again, same data and port

The cluster lives in DIR (a temporary folder), listens on a free port on 127.0.0.1 only, trusts
local connections (nobody else can reach it) and runs as the ``postgres`` user when started by
root (initdb refuses root). The tests read its URL from ``MLOPS_ONCALL_TEST_PG``.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

URL_FILE = "url"
OPTIONS_FILE = "options"  # the server's options, for a restart on the same port


def bindir() -> Path | None:
    """The server's binaries: pg_config's answer, else Debian's versioned folder."""
    pg_config = shutil.which("pg_config")
    if pg_config:
        out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True)
        candidate = Path(out.stdout.strip())
        if (candidate / "initdb").exists():
            return candidate
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(found[-1]).parent if found else None


def _reachable(root: Path) -> None:
    """The postgres user must be able to reach the folder (mktemp makes its parent 0700, and
    pytest may make its temporary folders again between a start and a restart)."""
    if os.geteuid() != 0:
        return
    for parent in root.resolve().parents:
        if parent.stat().st_uid == 0 and not parent.stat().st_mode & 0o001:
            parent.chmod(parent.stat().st_mode | 0o011)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _as_owner(argv: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return argv
    return ["runuser", "-u", "postgres", "--", *argv]


def _run(argv: list[str]) -> None:
    # from /: the caller's folder may be one the postgres user cannot enter
    done = subprocess.run(_as_owner(argv), capture_output=True, text=True, cwd="/")
    if done.returncode != 0:
        sys.exit(f"pgcluster: {' '.join(argv[:2])} failed:\n{done.stdout}{done.stderr}")


def start(root: Path, *, durable: bool = False, settings: dict[str, str] | None = None) -> str:
    """``durable`` keeps fsync on (the tests turn it off for speed; the append benchmark
    needs the real cost of a commit); ``settings`` are more server options (``-c k=v``)."""
    bins = bindir()
    if bins is None:
        sys.exit("pgcluster: no PostgreSQL server found (apt-get install postgresql)")
    data = root / "data"
    root.mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
    _reachable(root)
    port = _free_port()
    _run([str(bins / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8"])
    options = f"-p {port} -c listen_addresses=127.0.0.1 -k {root}"
    if not durable:
        options += " -c fsync=off"
    for key, value in (settings or {}).items():
        options += f" -c {key}={value}"
    (root / OPTIONS_FILE).write_text(options)
    _pg_ctl_start(bins, root)
    url = f"postgresql://postgres@127.0.0.1:{port}/postgres"
    (root / URL_FILE).write_text(url)
    return url


def _pg_ctl_start(bins: Path, root: Path) -> None:
    options = (root / OPTIONS_FILE).read_text()
    log = str(root / "log")
    _run([str(bins / "pg_ctl"), "-D", str(root / "data"), "-o", options, "-l", log, "-w", "start"])


def restart(root: Path) -> str:
    """Start a cluster ``stop`` stopped, on its data and port (the outbox tests stop the
    server mid-incident and bring it back); its URL."""
    bins = bindir()
    if bins is None:
        sys.exit("pgcluster: no PostgreSQL server found (apt-get install postgresql)")
    _reachable(root)
    _pg_ctl_start(bins, root)
    return (root / URL_FILE).read_text()


def stop(root: Path) -> None:
    bins = bindir()
    data = root / "data"
    _reachable(root)
    if bins is None or not (data / "postmaster.pid").exists():
        return
    _run([str(bins / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"])


def main(argv: list[str]) -> None:
    durable = argv[2:] == ["--durable"] and argv[0] == "start"
    if len(argv) != 2 + durable or argv[0] not in ("start", "stop", "restart"):
        sys.exit("usage: python -m tests.pgcluster start DIR [--durable] | stop DIR | restart DIR")
    root = Path(argv[1])
    if argv[0] == "start":
        print(start(root, durable=durable))
    elif argv[0] == "restart":
        print(restart(root))
    else:
        stop(root)


if __name__ == "__main__":
    main(sys.argv[1:])
