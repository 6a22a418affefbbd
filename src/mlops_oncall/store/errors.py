"""What went wrong with the database, in one line a responder can act on.

sqlite3 and SQLAlchemy errors carry the statement and its parameters (incident text, maybe a
secret) and a link to SQLAlchemy's docs; none of that is shown. Each message names the file,
says what happened and what to do. This module imports nothing heavy: the CLI's entry point
catches StoreError without loading SQLAlchemy.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

# SQLite primary result codes (sqlite3.h); Python 3.11 exposes them on the exception
_BUSY, _LOCKED, _NOMEM, _READONLY, _IOERR, _CORRUPT = 5, 6, 7, 8, 10, 11
_FULL, _CANTOPEN, _NOTADB = 13, 14, 26
# PostgreSQL: serialization_failure, deadlock_detected
CONFLICT_SQLSTATES = frozenset({"40001", "40P01"})

BACKUP_ADVICE = (
    "restore it from a backup, or move it aside to start a new one "
    "(`sqlite3 FILE .recover` may save what is left)"
)


class StoreError(Exception):
    """The database cannot be opened or used; one clear line, exit 2 (unusable environment)."""

    exit_code = 2
    # the server aborted the transaction to keep concurrent ones apart (serialization failure,
    # deadlock): running it again may succeed (incidents/writer.py retries these)
    conflict = False
    # the server could not be reached or went away (refused, reset, timed out, shutting down):
    # a team database's writes then go to the local outbox (incidents/outbox.py)
    unreachable = False

    def __init__(self, message: str):
        # one line whatever the cause carried (paths with newlines, multi-line driver text)
        super().__init__(" ".join(str(message).split()))


# connection_exception (class 08); admin_shutdown, crash_shutdown, cannot_connect_now
_GONE_SQLSTATES = frozenset({"57P01", "57P02", "57P03"})


def unreachable(exc: BaseException) -> bool:
    """Whether a server database error means "the database cannot be reached right now" rather
    than "it refused": judged by the connection's state, not the message.

    A connection that broke mid-session is one SQLAlchemy invalidated (its dialect's
    is_disconnect). A connection attempt that failed carries no SQLSTATE (libpq has no result
    to take one from) unless the server answered; when it did answer, libpq prefixes the
    server's reason with its severity, so "FATAL:" there means the server refused us (a
    wrong role, password or database): that is not queued, it is shown."""
    if getattr(exc, "connection_invalidated", False):
        return True
    orig = getattr(exc, "orig", None) or exc
    if hasattr(orig, "sqlite_errorcode"):
        return False  # a file: there is no network to lose
    # by name: this module imports no driver (psycopg's AdminShutdown is an OperationalError)
    if not {c.__name__ for c in type(orig).__mro__} & {"OperationalError", "InterfaceError"}:
        return False
    state = getattr(orig, "sqlstate", None)
    if state is not None:
        return state.startswith("08") or state in _GONE_SQLSTATES
    message = str(orig)
    return "FATAL:" not in message or "the database system is" in message  # 57P03's words


def first_line(text: object) -> str:
    lines = str(text).strip().splitlines()
    return lines[0].strip() if lines else ""


def read_only_reason(path: Path) -> str | None:
    """Why SQLite cannot write ``path`` in WAL mode (with what to do), or None when it can.

    WAL needs the file and its folder writable (it creates FILE-wal and FILE-shm beside it),
    and a little free space for them.
    """
    folder = path.parent
    try:
        fs = os.statvfs(folder)
    except OSError:
        fs = None
    if fs is not None and fs.f_flag & os.ST_RDONLY:
        return f"it is on a read-only file system ({folder}); remount it read-write"
    if path.exists() and not _can_open_rw(path):
        return "the file is read-only; make it writable"
    if not os.access(folder, os.W_OK):
        return (
            f"its folder {folder} is read-only and SQLite's write-ahead log needs to write "
            f"there; make the folder writable"
        )
    if fs is not None and disk_full(fs):
        return "the disk is full; free some space"
    return None


def disk_full(fs: os.statvfs_result) -> bool:
    # root may write into the blocks reserved for it
    free = fs.f_bfree if os.geteuid() == 0 else fs.f_bavail
    return free == 0


def _can_open_rw(path: Path) -> bool:
    try:
        fd = os.open(path, os.O_RDWR)
    except OSError as exc:
        if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS, errno.ETXTBSY):
            return False
        raise
    os.close(fd)
    return True


def read_only_message(path: Path, reason: str) -> str:
    return (
        f"cannot record in the database {path}: {reason}, or set database: to another path. "
        f"This command writes, so it did not run; reading commands still work"
    )


def full_message(path: Path) -> str:
    return (
        f"cannot record in the database {path}: the disk is full; this change was not "
        f"recorded and nothing recorded before is lost. Free some space and run the command "
        f"again"
    )


def describe(exc: BaseException, path: Path | None, display: str) -> StoreError:
    """A StoreError for a driver error (sqlite3, or a SQLAlchemy wrapper of one)."""
    orig = getattr(exc, "orig", None) or exc
    code = getattr(orig, "sqlite_errorcode", None)
    if code is None or path is None:
        # PostgreSQL and friends: the driver's first line, never the statement
        what = first_line(orig) or type(orig).__name__
        error = StoreError(f"database error at {display}: {what}")
        error.conflict = getattr(orig, "sqlstate", None) in CONFLICT_SQLSTATES
        error.unreachable = unreachable(exc)
        return error
    primary = code & 0xFF
    name = getattr(orig, "sqlite_errorname", "") or str(code)
    if primary == _FULL or (primary == _IOERR and _folder_full(path)):
        return StoreError(full_message(path))
    if primary == _READONLY:
        reason = read_only_reason(path) or f"SQLite reports it read-only ({name})"
        return StoreError(read_only_message(path, reason))
    if primary in (_CORRUPT, _NOTADB):
        what = "cannot open the database" if primary == _NOTADB else "cannot use the database"
        damage = "it is not an SQLite database" if primary == _NOTADB else "it is corrupt"
        return StoreError(
            f"{what} {path}: {damage} ({first_line(orig)}); "
            + BACKUP_ADVICE.replace("FILE", str(path))
        )
    if primary in (_BUSY, _LOCKED):
        return StoreError(
            f"the database {path} is locked by another process and stayed locked; "
            f"try again, or find the process that holds it"
        )
    if primary == _CANTOPEN:
        return StoreError(f"cannot open the database {path}: {cant_open_reason(path)}")
    if primary == _IOERR:
        return StoreError(
            f"cannot use the database {path}: the disk reported an I/O error ({name}); "
            f"check the disk, then run the command again"
        )
    if primary == _NOMEM:
        return StoreError(f"cannot use the database {path}: out of memory")
    return StoreError(f"cannot use the database {path}: {first_line(orig)} ({name})")


def _folder_full(path: Path) -> bool:
    try:
        return disk_full(os.statvfs(path.parent))
    except OSError:
        return False


def cant_open_reason(path: Path) -> str:
    folder = path.parent
    if not folder.is_dir():
        return f"directory {folder} does not exist; create it, or set database: to another path"
    if path.is_dir():
        return "it is a directory, not a database file; set database: to a file path"
    reason = read_only_reason(path)
    if reason:
        return f"{reason}, or set database: to another path"
    if path.exists() and not os.access(path, os.R_OK):
        return "permission denied; make the file readable"
    return "SQLite could not open the file; check its permissions and the disk"


def os_error(exc: OSError, path: Path, doing: str) -> StoreError:
    """A StoreError for an OSError met while preparing the database file."""
    if exc.errno == errno.ENOSPC:
        return StoreError(f"cannot {doing} the database {path}: the disk is full; free some space")
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        reason = read_only_reason(path) or exc.strerror
        return StoreError(f"cannot {doing} the database {path}: {reason}")
    return StoreError(f"cannot {doing} the database {path}: {exc.strerror or exc}")
