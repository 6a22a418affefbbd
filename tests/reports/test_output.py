"""`-o FILE` of every command: no overwrite without --force, no symlinks, never the store or a
workspace file, atomic (a failed write leaves the old file and no temporary file)."""

from __future__ import annotations

import hashlib
import os
import resource
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from mlops_oncall.reports.output import OutputRefused, Protected, write_document

COMMANDS = {
    "postmortem": ("postmortem", "INC-0001"),
    "weekly": ("report", "weekly"),
    "risks": ("risk", "export"),
    "incident export": ("incident", "export", "INC-0001"),
}


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


@pytest.mark.parametrize("command", COMMANDS.values(), ids=COMMANDS.keys())
def test_an_existing_file_needs_force(week, cli, command):
    out = week.root / "out" / "doc.md"
    r = cli(*command, "-o", out)
    assert (r.code, r.out, r.err) == (0, "", f"wrote {out}\n")
    first = out.read_text()
    assert first.strip()
    out.write_text("my notes\n")
    r = cli(*command, "-o", out)
    assert r.code == 2
    assert r.err == (f"error: {out} exists; use --force to replace it, or choose another file\n")
    assert out.read_text() == "my notes\n"
    r = cli(*command, "-o", out, "--force")
    assert r.code == 0, r.err
    assert out.read_text() == first
    assert leftovers(out.parent) == []


@pytest.mark.parametrize("command", COMMANDS.values(), ids=COMMANDS.keys())
def test_the_database_is_never_written_even_with_force(week, cli, command):
    db = week.root / "week.db"
    week.store.close()
    before = digest(db)
    linked = week.root / "sub"
    linked.symlink_to(week.root)  # the same folder by another name
    os.link(db, week.root / "hardlink.db")
    for target in (
        "week.db",
        "./week.db",
        str(db),
        "sub/week.db",
        "week.db-wal",
        "week.db-shm",
        "week.db-journal",
        "hardlink.db",
    ):
        r = cli(*command, "-o", target, "--force")
        assert r.code == 2, (target, r.err)
        assert r.err.startswith(f"error: refusing to write {target}: it is the database"), r.err
    assert digest(db) == before
    assert sqlite3.connect(db).execute("select count(*) from incident").fetchone()[0] > 0
    assert leftovers(week.root) == []


@pytest.mark.parametrize(
    ("target", "what"),
    [
        ("oncall.yaml", "the workspace config"),
        ("checks.yaml", "the checks file"),
        ("templates/postmortem.md.j2", "in the templates folder"),
        ("runbooks/new.yaml", "in a runbook folder"),
        ("scenarios/x.yaml", "in the scenarios folder"),
    ],
)
def test_workspace_files_are_never_written_even_with_force(week, cli, target, what):
    for folder in ("templates", "runbooks", "scenarios"):
        (week.root / folder).mkdir()
    path = week.root / target
    existed = path.exists()
    before = path.read_bytes() if existed else None
    r = cli("postmortem", "INC-0001", "-o", target, "--force")
    assert r.code == 2
    assert r.err.startswith(f"error: refusing to write {target}: it is {what}"), r.err
    assert (path.read_bytes() if existed else path.exists()) == (before if existed else False)


def test_a_symlink_is_never_written_through(week, cli):
    victim = week.root / "victim.txt"
    victim.write_text("keep me\n")
    link = week.root / "report.md"
    link.symlink_to(victim)
    for extra in ((), ("--force",)):
        r = cli("postmortem", "INC-0001", "-o", link, *extra)
        assert r.code == 2
        assert r.err == f"error: refusing to write {link}: it is a symbolic link\n"
    assert victim.read_text() == "keep me\n" and link.is_symlink()
    dangling = week.root / "dangling.md"
    dangling.symlink_to(week.root / "nowhere" / "x.md")
    assert cli("risk", "export", "-o", dangling).code == 2
    assert not (week.root / "nowhere").exists()


def test_a_folder_or_a_device_is_refused(week, cli):
    (week.root / "afolder").mkdir()
    r = cli("risk", "export", "-o", "afolder", "--force")
    assert r.code == 2 and "'afolder' is a directory" in r.err
    with pytest.raises(OutputRefused, match="cannot write afolder: it is a folder"):
        write_document("afolder", "x", force=True)
    r = cli("risk", "export", "-o", "/dev/null", "--force")
    assert (r.code, r.err) == (2, "error: cannot write /dev/null: it is not a regular file\n")


def test_write_document_success_keeps_the_mode_of_a_replaced_file(tmp_path):
    path = tmp_path / "a" / "b.md"
    assert write_document(path, ["one ", "two\n"]) == path
    assert path.read_text() == "one two\n"
    path.chmod(0o640)
    write_document(path, "three\n", force=True)
    assert path.read_text() == "three\n" and (path.stat().st_mode & 0o777) == 0o640
    assert leftovers(path.parent) == []


def test_numbered_names_keep_the_existing_export(tmp_path):
    path = tmp_path / "INC-0001.md"
    path.write_text("edited by hand\n")
    (tmp_path / "INC-0001-2.md").symlink_to(tmp_path / "elsewhere")
    written = write_document(path, "new\n", numbered=True)
    assert written == tmp_path / "INC-0001-3.md"
    assert written.read_text() == "new\n" and path.read_text() == "edited by hand\n"
    assert not (tmp_path / "elsewhere").exists()


def test_a_failing_producer_leaves_no_file(tmp_path):
    def chunks():
        yield "{"
        raise OutputRefused("the incident vanished")

    path = tmp_path / "x.json"
    with pytest.raises(OutputRefused):
        write_document(path, chunks())
    assert list(tmp_path.iterdir()) == []


def test_protected_of_a_workspace(week):
    from mlops_oncall.config import load_workspace

    ws = load_workspace(week.root / "oncall.yaml")
    p = Protected.of_workspace(ws)
    assert p.refuses(week.root / "week.db") == "the database"
    assert p.refuses(week.root / "week.db-wal") == "the database's wal file"
    assert p.refuses(week.root / "week.db.witness") == "the database's witness file"
    assert p.refuses(week.root / "postmortems" / "INC-0001.md") is None


# -- real failures, in a subprocess: a full disk and a read-only folder ---------------------------

WRITE = """
import sys
from mlops_oncall.reports.output import OutputRefused, write_document
try:
    write_document(sys.argv[1], "x" * (1 << 20), force=True)
except OutputRefused as exc:
    print(exc)
    sys.exit(2)
"""


def _file_size_limit():
    # a write past 64 KiB fails with EFBIG, as on a full disk; SIGXFSZ would kill instead
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (64 << 10, 64 << 10))


def test_a_full_disk_keeps_the_old_file_and_leaves_no_temporary_file(tmp_path):
    path = tmp_path / "report.md"
    path.write_text("the old report\n")
    p = subprocess.run(
        [sys.executable, "-c", WRITE, str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        preexec_fn=_file_size_limit,
    )
    assert p.returncode == 2, p.stderr
    assert p.stdout == (
        f"cannot write {path}: File too large; nothing was written and the existing file is "
        "unchanged\n"
    )
    assert path.read_text() == "the old report\n"
    assert sorted(x.name for x in tmp_path.iterdir()) == ["report.md"]


def test_a_read_only_folder_is_a_clear_error(tmp_path):
    """Root ignores permissions, so as root the folder is made immutable (chattr +i)."""
    folder = tmp_path / "ro"
    folder.mkdir()
    root = os.geteuid() == 0
    if root:
        if subprocess.run(["chattr", "+i", str(folder)], capture_output=True).returncode:
            pytest.skip("running as root on a filesystem without chattr +i")
    else:
        folder.chmod(0o555)
    try:
        with pytest.raises(OutputRefused) as err:
            write_document(folder / "report.md", "text\n")
        reason = "Operation not permitted" if root else "Permission denied"
        assert str(err.value) == f"cannot write {folder / 'report.md'}: {reason}"
        assert list(folder.iterdir()) == []
    finally:
        if root:
            subprocess.run(["chattr", "-i", str(folder)], check=True)
        folder.chmod(0o755)
