"""The one writer of output files: `-o FILE` of every command and the TUI's exports.

A document path is typed by hand, often in the workspace folder, so a slip must not cost
data: `postmortem INC-0001 -o oncall.db` once replaced the database. The rules:

- an existing file is replaced only with ``force`` (`--force`); the TUI picks a numbered name;
- a symbolic link is never written through, and only a regular file is replaced;
- the store (the database and its -wal, -shm, -journal and witness files) and every file
  the workspace reads (oncall.yaml, the checks file, anything under its runbook, template
  and scenario folders) are refused even with ``force``;
- the bytes go to a temporary file in the same folder, are fsynced, then renamed over the
  target: a full disk or a crash leaves the old file (or none), never a 0-byte or half file.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from mlops_oncall.incidents.service import BadInput

STORE_SUFFIXES = ("", "-wal", "-shm", "-journal", ".witness", ".drafts.json")
_EXISTS = "{path} exists; use --force to replace it, or choose another file"


class OutputRefused(BadInput):
    """The output file cannot or must not be written (exit 2); nothing was changed."""


@dataclass
class Protected:
    """Files (and folders) no output may replace, each with what it is, for the message."""

    files: dict[Path, str] = field(default_factory=dict)
    folders: dict[Path, str] = field(default_factory=dict)

    def add_file(self, path: Path | str | None, what: str) -> None:
        if path:
            self.files.setdefault(_real(Path(path)), what)

    def add_folder(self, path: Path | str | None, what: str) -> None:
        if path:
            self.folders.setdefault(_real(Path(path)), what)

    def add_database(self, url: str | None) -> None:
        db = sqlite_file(url)
        if db is not None:
            for suffix in STORE_SUFFIXES:
                what = (
                    "the database" if not suffix else f"the database's {suffix.lstrip('-.')} file"
                )
                self.add_file(Path(f"{db}{suffix}"), what)

    @classmethod
    def of_workspace(cls, ws, database_url: str | None = None) -> Protected:
        """Everything a workspace reads or writes besides its documents."""
        p = cls()
        # an unusable database setting fails elsewhere, with its own message
        with contextlib.suppress(Exception):
            p.add_database(database_url or ws.database_url())
        p.add_file(ws.config_file, "the workspace config")
        p.add_file(ws.checks_file, "the checks file")
        witness = getattr(ws.config, "witness", None)
        if isinstance(witness, str):
            p.add_file(ws.path(witness), "the witness file")
        for folder in ws.runbook_dirs():
            p.add_folder(folder, "a runbook folder")
        p.add_folder(ws.templates_dir, "the templates folder")
        p.add_folder(ws.scenarios_dir, "the scenarios folder")
        return p

    def refuses(self, target: Path) -> str | None:
        """What `target` is, if it must not be written; compares real paths and inodes."""
        real = _real(target)
        if real in self.files:
            return self.files[real]
        for folder, what in self.folders.items():
            if folder in real.parents:
                return f"in {what} ({folder})"
        try:
            st = os.stat(real)
        except OSError:
            return None
        for path, what in self.files.items():  # a hard link to the database is the database
            try:
                other = os.stat(path)
            except OSError:
                continue
            if (other.st_dev, other.st_ino) == (st.st_dev, st.st_ino):
                return what
        return None


def sqlite_file(url: str | None) -> Path | None:
    """The file of a `sqlite:///…` URL (None for other databases and in-memory ones)."""
    if not url or not url.startswith("sqlite:///"):
        return None
    rest = url[len("sqlite:///") :].split("?", 1)[0]
    if not rest or rest == ":memory:":
        return None
    return Path(rest)


def _real(path: Path) -> Path:
    """The path with its folder's symlinks resolved, but not its last part."""
    path = Path(os.path.abspath(path.expanduser()))
    return Path(os.path.realpath(path.parent)) / path.name


def write_document(
    path: Path | str,
    content: str | Iterable[str],
    *,
    force: bool = False,
    protected: Protected | None = None,
    numbered: bool = False,
) -> Path:
    """Write `content` to `path` atomically, by the rules above; returns the path written.

    ``numbered`` (the TUI): when `path` exists, write `NAME-2.md`, `NAME-3.md`, … instead.
    """
    shown = str(path)  # as the user typed it
    path = Path(path)
    if path.name in ("", ".", ".."):
        raise OutputRefused(f"cannot write {shown}: it is a folder")
    what = (protected or Protected()).refuses(path)
    if what:
        raise OutputRefused(f"refusing to write {shown}: it is {what}; choose another file")
    if numbered:
        pass  # whatever holds the name (a file, a link, a folder) is kept: the next name is used
    elif os.path.islink(path):
        raise OutputRefused(f"refusing to write {shown}: it is a symbolic link")
    elif path.exists():
        if not stat.S_ISREG(os.stat(path).st_mode):
            kind = "a folder" if path.is_dir() else "not a regular file"
            raise OutputRefused(f"cannot write {shown}: it is {kind}")
        if not force:
            raise OutputRefused(_EXISTS.format(path=shown))
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputRefused(f"cannot write {shown}: {_reason(exc)}") from None
    tmp = _write_temp(path, content)
    try:
        return _place(tmp, path, force=force, numbered=numbered, protected=protected)
    finally:
        if os.path.lexists(tmp):
            os.unlink(tmp)


def _write_temp(path: Path, content: str | Iterable[str]) -> Path:
    try:
        fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        raise OutputRefused(f"cannot write {path}: {_reason(exc)}") from None
    tmp = Path(name)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            for chunk in [content] if isinstance(content, str) else content:
                fh.write(chunk)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, _mode(path))
    except BaseException as exc:
        tmp.unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise OutputRefused(
                f"cannot write {path}: {_reason(exc)}; nothing was written"
                + (" and the existing file is unchanged" if path.exists() else "")
            ) from None
        raise
    return tmp


def _place(tmp: Path, path: Path, *, force: bool, numbered: bool, protected) -> Path:
    target = path
    n = 1
    while True:
        if force and not numbered:
            os.replace(tmp, target)  # atomic: readers see the old file or the new one
            break
        try:
            os.link(tmp, target)  # creates target only if it does not exist, atomically
            break
        except FileExistsError:
            if not numbered:
                raise OutputRefused(_EXISTS.format(path=path)) from None
            n += 1
            target = path.with_name(f"{path.stem}-{n}{path.suffix}")
            if (protected or Protected()).refuses(target) or os.path.islink(target):
                continue
        except OSError as exc:
            if exc.errno not in (errno.EPERM, errno.EOPNOTSUPP, errno.EXDEV, errno.EMLINK):
                raise OutputRefused(f"cannot write {path}: {_reason(exc)}") from None
            if os.path.lexists(target):  # no hard links here: check, then rename
                if not numbered:
                    raise OutputRefused(_EXISTS.format(path=path)) from None
                n += 1
                target = path.with_name(f"{path.stem}-{n}{path.suffix}")
                continue
            os.replace(tmp, target)
            break
    _fsync_folder(target.parent)
    return target


def _mode(path: Path) -> int:
    """Keep a replaced file's mode; a new file gets the usual 0666 less the umask."""
    try:
        return stat.S_IMODE(os.stat(path).st_mode)
    except OSError:
        return 0o666 & ~_umask()


def _umask() -> int:
    # os.umask() can only be read by setting it, which would race with other threads
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    return 0o022


def _fsync_folder(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _reason(exc: OSError) -> str:
    return exc.strerror or str(exc)
