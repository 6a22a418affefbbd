"""Storage failures are one clear line (which file, what happened, what to do), exit 2, and never
lose what was recorded; reads keep working on a database that cannot be written.

Everything is real: SQLite files, the console script as a subprocess, and, where the kernel
lets us (root), a full tmpfs and a read-only bind mount. Root ignores file modes, so as root a
read-only file or folder is also made immutable (chattr +i), which refuses writes even to root.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from mlops_oncall.incidents.service import Incidents
from mlops_oncall.store.db import open_store
from mlops_oncall.store.engine import StoreError

pytestmark = pytest.mark.timeout(120)

READS = (
    ("incident", "list"),
    ("incident", "show", "INC-0001"),
    ("incident", "verify", "INC-0001"),
    ("incident", "export", "INC-0001"),
    ("postmortem", "INC-0001"),
)
WRITE = ("incident", "note", "INC-0001", "a note that cannot be stored")
ROOT = os.geteuid() == 0


def assert_clean(r, *needles: str) -> str:
    """Exit 1 or 2, one line on stderr, no traceback, no SQL, no internal error."""
    assert r.code in (1, 2), (r.code, r.err)
    lines = r.err.strip().splitlines()
    assert len(lines) == 1, r.err
    line = lines[0]
    assert line.startswith("error: "), line
    for banned in ("Traceback", "internal error", "[SQL", "INSERT", "SELECT", "sqlalche.me"):
        assert banned not in line, line
    for needle in needles:
        assert needle in line, (needle, line)
    return line


@pytest.fixture
def workspace(tmp_path, cli_proc):
    """A workspace folder with one incident (three events) in ws/oncall.db."""
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "oncall.yaml").write_text("name: storage\n", encoding="utf-8")
    run = _runner(cli_proc, ws)
    r = run("incident", "declare", "--title", "disk trouble", "--severity", "SEV2")
    assert r.code == 0, r.err
    return ws, run


def _runner(cli_proc, ws: Path):
    def run(*args: str):
        return cli_proc("--config", str(ws / "oncall.yaml"), *args)

    return run


def assert_reads_work(run) -> None:
    for args in READS:
        r = run(*args)
        assert r.code == 0, (args, r.err)
        assert "internal error" not in r.err
    assert "disk trouble" in run("incident", "list").out
    assert "chain intact, 3 events" in run("incident", "verify", "INC-0001").out


def _chattr(flag: str, *paths: Path) -> bool:
    if not shutil.which("chattr"):
        return False
    p = subprocess.run(["chattr", flag, *map(str, paths)], capture_output=True)
    return p.returncode == 0


@contextlib.contextmanager
def read_only(*paths: Path):
    """Make files/folders read-only for whoever runs the tests (root included)."""
    modes = {p: p.stat().st_mode for p in paths}
    for p in paths:
        p.chmod(0o555 if p.is_dir() else 0o444)
    if ROOT and not _chattr("+i", *paths):
        for p, m in modes.items():
            p.chmod(m)
        pytest.skip("running as root and chattr +i is not available: root ignores file modes")
    try:
        yield
    finally:
        if ROOT:
            _chattr("-i", *paths)
        for p, m in modes.items():
            p.chmod(m)


def _mount(*args: str) -> bool:
    if not ROOT or not shutil.which("mount"):
        return False
    return subprocess.run(["mount", *args], capture_output=True).returncode == 0


def _umount(path: Path) -> None:
    subprocess.run(["umount", "-l", str(path)], capture_output=True)


# --------------------------------------------------------------------------- read-only


def test_read_only_file_reads_work_and_a_write_says_why(workspace):
    ws, run = workspace
    db = ws / "oncall.db"
    with read_only(db):
        assert_reads_work(run)
        assert_clean(run(*WRITE), f"cannot record in the database {db}", "file is read-only")
    assert "chain intact, 3 events" in run("incident", "verify", "INC-0001").out


def test_read_only_folder_reads_work_and_a_write_says_why(workspace):
    ws, run = workspace
    with read_only(ws):
        assert_reads_work(run)
        assert_clean(run(*WRITE), "cannot record in the database", f"folder {ws} is read-only")
        assert not Path(f"{ws / 'oncall.db'}-wal").exists()
    assert run(*WRITE).code == 0  # writable again: nothing was left half-done


def test_read_only_file_in_read_only_folder(workspace):
    ws, run = workspace
    with read_only(ws / "oncall.db", ws):
        assert_reads_work(run)
        assert_clean(run(*WRITE), "cannot record in the database", "read-only")


def test_new_database_in_a_read_only_folder(workspace, tmp_path):
    ws, run = workspace
    (ws / "oncall.db").unlink()
    with read_only(ws):
        line = assert_clean(run("incident", "list"), "cannot create the database", "read-only")
        assert str(ws / "oncall.db") in line


def test_read_only_mount(workspace, tmp_path):
    ws, run = workspace
    if not (_mount("--bind", str(ws), str(ws)) and _mount("-o", "remount,bind,ro", str(ws))):
        _umount(ws)
        pytest.skip("cannot bind-mount read-only here (needs root and mount)")
    try:
        assert_reads_work(run)
        assert_clean(run(*WRITE), "cannot record in the database", "read-only file system")
    finally:
        _umount(ws)
    assert run(*WRITE).code == 0


# --------------------------------------------------------------------------- full disk


@pytest.fixture
def small_disk(tmp_path, cli_proc):
    """A workspace on a 2 MiB tmpfs, with one incident."""
    disk = tmp_path / "disk"
    disk.mkdir()
    if not _mount("-t", "tmpfs", "-o", "size=2m", "tmpfs", str(disk)):
        pytest.skip("cannot mount a tmpfs here (needs root)")
    try:
        (disk / "oncall.yaml").write_text("name: full\n", encoding="utf-8")
        run = _runner(cli_proc, disk)
        assert run("incident", "declare", "--title", "disk trouble", "--severity", "SEV2").code == 0
        yield disk, run
    finally:
        _umount(disk)


def _fill(disk: Path, leave: int = 0) -> None:
    """Fill the file system, keeping ``leave`` bytes free."""
    spare = disk / "spare"
    if leave:
        spare.write_bytes(b"\0" * leave)
    with contextlib.suppress(OSError), open(disk / "filler", "wb") as f:
        while True:
            f.write(b"\0" * 65536)
            f.flush()
    with contextlib.suppress(OSError), open(disk / "filler", "ab") as f:
        while True:  # the last few blocks
            f.write(b"\0" * 4096)
            f.flush()
    spare.unlink(missing_ok=True)


def test_full_disk_reads_work_and_a_write_says_the_disk_is_full(small_disk):
    disk, run = small_disk
    _fill(disk)
    assert os.statvfs(disk).f_bfree == 0
    assert_reads_work(run)
    assert_clean(run(*WRITE), f"cannot record in the database {disk / 'oncall.db'}", "disk is full")
    (disk / "filler").unlink()
    assert "chain intact, 3 events" in run("incident", "verify", "INC-0001").out


def test_disk_filling_up_during_a_write_loses_nothing(small_disk):
    disk, run = small_disk
    _fill(disk, leave=48 * 1024)
    big = os.urandom(45_000).hex()  # more than the free space, once in the log
    line = assert_clean(run("incident", "note", "INC-0001", big), "disk is full")
    assert "nothing recorded before is lost" in line
    (disk / "filler").unlink()
    assert "chain intact, 3 events" in run("incident", "verify", "INC-0001").out
    assert run(*WRITE).code == 0
    assert "chain intact, 4 events" in run("incident", "verify", "INC-0001").out


def test_max_page_count_full_is_a_store_error(tmp_path):
    """SQLite's own "database or disk is full", without a mount: the page limit reached."""
    url = f"sqlite:///{tmp_path / 'capped.db'}"
    store = open_store(url)
    svc = Incidents(store)
    svc.declare("capped", "SEV3")
    ref = "INC-0001"
    with store.engine.connect() as conn:
        pages = conn.exec_driver_sql("PRAGMA page_count").scalar()
    store.engine.dispose()

    from sqlalchemy import event

    @event.listens_for(store.engine, "connect")
    def _cap(dbapi_conn, _record):
        dbapi_conn.execute(f"PRAGMA max_page_count={pages}")

    with pytest.raises(StoreError) as info:
        for _ in range(200):
            svc.note(ref, "x" * 4000)
    message = str(info.value)
    assert "disk is full" in message and str(tmp_path / "capped.db") in message
    assert "\n" not in message and "INSERT" not in message
    store.close()
    again = Incidents(open_store(url))
    assert again.verify(ref).ok


# --------------------------------------------------------------------------- corrupt


def _random_bytes(db: Path) -> None:
    db.write_bytes(os.urandom(64 * 1024))


def _truncated(db: Path) -> None:
    data = db.read_bytes()
    db.write_bytes(data[: len(data) // 3])


def _text_file(db: Path) -> None:
    db.write_text("id,title\n1,not a database\n" * 200, encoding="utf-8")


@pytest.mark.parametrize(
    ("damage", "needle"),
    [
        (_random_bytes, "not an SQLite database"),
        (_truncated, "corrupt"),
        (_text_file, "not an SQLite database"),
    ],
)
def test_corrupt_database_every_command_says_so(workspace, cli, damage, needle):
    ws, _ = workspace
    run = _runner(cli, ws)  # in-process, through main()'s exit mapping: nothing can open it
    db = ws / "oncall.db"
    damage(db)
    before = db.read_bytes()
    for args in (*READS, WRITE):
        line = assert_clean(run(*args), str(db), needle)
        assert "restore it from a backup" in line
    assert db.read_bytes() == before  # nothing tried to "repair" it


def test_corruption_deep_in_the_timeline_is_reported_by_verify_export_and_postmortem(
    workspace, cli
):
    ws, _ = workspace
    run = _runner(cli, ws)
    db = ws / "oncall.db"
    svc = Incidents(open_store(f"sqlite:///{db}"))
    for i in range(300):
        svc.note("INC-0001", f"note {i} " + "x" * 200)
    svc.store.close()
    con = sqlite3.connect(db)
    leaves = [
        n
        for (n,) in con.execute(
            "SELECT pageno FROM dbstat WHERE name = 'event' AND pagetype = 'leaf' ORDER BY pageno"
        )
    ]
    page_size = con.execute("PRAGMA page_size").fetchone()[0]
    con.close()
    assert len(leaves) > 4
    with open(db, "r+b") as f:
        f.seek((leaves[len(leaves) // 2] - 1) * page_size)
        f.write(os.urandom(page_size))
    for args in (
        ("incident", "verify", "INC-0001"),
        ("incident", "export", "INC-0001"),
        ("postmortem", "INC-0001"),
    ):
        assert_clean(run(*args), f"cannot use the database {db}", "it is corrupt")


# --------------------------------------------------------------------------- where it is


def test_missing_directory_is_an_error_and_is_not_created(tmp_path, cli_proc):
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "oncall.yaml").write_text("database: sqlite:///nope/deeper/oncall.db\n", "utf-8")
    r = _runner(cli_proc, ws)("incident", "list")
    assert_clean(r, f"directory {ws / 'nope' / 'deeper'} does not exist")
    assert not (ws / "nope").exists()


def test_database_path_that_is_a_directory(tmp_path, cli_proc, monkeypatch):
    (tmp_path / "adir").mkdir()
    r = cli_proc("incident", "list", env={"MLOPS_ONCALL_DATABASE": str(tmp_path / "adir")})
    assert_clean(r, "is a directory, not a database file")


@pytest.mark.parametrize(
    ("url", "needle"),
    [
        ("mysql://u:hunter2@db.example/oncall", "unsupported database URL scheme 'mysql'"),
        ("foo:///x", "unsupported database URL scheme 'foo'"),
        ("postgresql+nosuchdriver://u@h/db", "unsupported database driver"),
    ],
)
def test_unknown_database_url(tmp_path, cli_proc, url, needle):
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "oncall.yaml").write_text(f"database: {url}\n", "utf-8")
    line = assert_clean(_runner(cli_proc, ws)("incident", "list"), needle)
    assert "hunter2" not in line


def test_postgresql_without_its_driver(tmp_path):
    """psycopg made unimportable in a real process: one line naming the package to install."""
    code = (
        "import sys; sys.modules['psycopg'] = None\n"
        "from mlops_oncall.cli import main\n"
        "main(['incident', 'list'])\n"
    )
    env = dict(os.environ, MLOPS_ONCALL_DATABASE="postgresql://u:s3cret@127.0.0.1:1/x")
    p = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60
    )
    assert p.returncode == 2, p.stderr
    line = p.stderr.strip()
    assert "\n" not in line and "Traceback" not in line
    assert "psycopg" in line and "pip install 'psycopg[binary]'" in line
    assert "s3cret" not in line


def test_default_database_folder_is_still_created(tmp_path, cli_proc):
    """Without a workspace the database lives in the user data dir, made on first use."""
    data = tmp_path / "_data"
    assert not data.exists()
    r = cli_proc("incident", "list")
    assert r.code == 0, r.err
    assert (data / "oncall.db").is_file()


def test_new_database_on_a_full_disk_leaves_no_empty_file(small_disk):
    disk, run = small_disk
    (disk / "oncall.db").unlink()
    _fill(disk)
    line = assert_clean(run("incident", "list"), "cannot create the database", "disk is full")
    assert str(disk / "oncall.db") in line
    assert not (disk / "oncall.db").exists()


def test_old_schema_on_a_read_only_file_says_it_needs_upgrading(tmp_path, cli_proc):
    from tests.conftest import FIXTURES

    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "oncall.yaml").write_text("name: old\n", encoding="utf-8")
    db = ws / "oncall.db"
    db.write_bytes((FIXTURES / "db" / "v1.db").read_bytes())
    before = db.read_bytes()
    with read_only(db):
        line = assert_clean(
            _runner(cli_proc, ws)("incident", "list"), "schema version 1", "needs upgrading"
        )
        assert "the file is read-only" in line
    assert db.read_bytes() == before


def test_a_locked_database_says_so(tmp_path):
    """A real SQLITE_BUSY (another connection holds the write lock), described in one line."""
    from mlops_oncall.store.errors import describe

    db = tmp_path / "locked.db"
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("CREATE TABLE t (x)")
    holder.execute("BEGIN IMMEDIATE")
    waiter = sqlite3.connect(db, timeout=0, isolation_level=None)
    try:
        with pytest.raises(sqlite3.OperationalError) as info:
            waiter.execute("BEGIN IMMEDIATE")
    finally:
        waiter.close()
        holder.close()
    message = str(describe(info.value, db, str(db)))
    assert message.startswith(f"the database {db} is locked by another process")


def test_a_server_error_shows_its_first_line_only():
    from mlops_oncall.store.errors import describe

    class ServerError(Exception):
        pass

    err = ServerError("connection refused\nDETAIL: Key (token)=(s3cret) already exists\n[SQL: X]")
    message = str(describe(err, None, "postgresql://u@db/x"))
    assert message == "database error at postgresql://u@db/x: connection refused"
