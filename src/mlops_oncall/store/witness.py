"""The witness: every timeline head, also written outside the database.

The hash chain shows that nothing inside it changed, but someone who can write the database
can delete the last events and move the head back, or recompute every hash after an edit.
So after each write transaction commits, the new head (incident, seq, hash, time) is appended
to a witness that lives elsewhere. ``incident verify`` then checks that every witnessed head is
still in the chain. With ``MLOPS_ONCALL_WITNESS_KEY`` set, each line carries an HMAC-SHA256 of
its head, so the witness cannot be rewritten to match a forged chain without the key.

The default witness is a JSON-lines file beside a SQLite database (``<db>.witness``), opened
with O_APPEND and not fsynced: the write reaches the page cache before ``record`` returns, so
a killed process loses nothing, and an fsync per line halved durable appends (bench/). A power
cut can drop the last lines, which ``verify`` then reports as not witnessed, never as tampered.
``Witness`` is the interface, so a team database can use
another (a table on another server, an object store with retention).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from mlops_oncall.store.engine import sqlite_path

ENV_KEY = "MLOPS_ONCALL_WITNESS_KEY"
SUFFIX = ".witness"
OFF = ("off", "none", "false", "no")


class WitnessError(Exception):
    """The witness could not be written (the event itself is already committed)."""


@dataclass(frozen=True)
class Head:
    incident: str  # public id, INC-0001
    seq: int
    hash: str
    time: str  # when it was witnessed (RFC 3339 UTC)

    def payload(self) -> bytes:
        fields = {"incident": self.incident, "seq": self.seq, "hash": self.hash, "time": self.time}
        return json.dumps(fields, sort_keys=True, separators=(",", ":")).encode()


@dataclass
class Line:
    number: int  # line number in the witness, for messages
    head: Head
    mac: str | None


@dataclass
class Reading:
    """The witnessed heads of one incident, as read back."""

    where: str
    exists: bool
    lines: list[Line] = field(default_factory=list)
    unreadable: int = 0  # torn or foreign lines (skipped)
    error: str | None = None  # why it could not be read at all
    signed_from: int | None = None  # the first signed line of the whole witness


class Witness(Protocol):
    where: str  # shown in messages
    key: bytes | None  # the HMAC key heads are signed and checked with, if any

    def record(self, head: Head) -> None:
        """Append one head; raise WitnessError if it could not be written."""

    def read(self, incident: str) -> Reading: ...


def sign(key: bytes, head: Head) -> str:
    return hmac.new(key, head.payload(), hashlib.sha256).hexdigest()


def signed_ok(key: bytes, line: Line) -> bool:
    return line.mac is not None and hmac.compare_digest(line.mac, sign(key, line.head))


def key_from_env() -> bytes | None:
    value = os.environ.get(ENV_KEY)
    return value.encode() if value else None


class FileWitness:
    """JSON lines appended with O_APPEND (one write per line, so lines of concurrent writers
    do not interleave); see the module docstring for why there is no fsync."""

    def __init__(self, path: Path, key: bytes | None = None):
        self.path = Path(path)
        self.key = key
        self.where = str(self.path)

    def record(self, head: Head) -> None:
        doc = json.loads(head.payload())
        if self.key:
            doc["hmac"] = sign(self.key, head)
        line = (json.dumps(doc, sort_keys=True, separators=(",", ":")) + "\n").encode()
        try:
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                os.write(fd, line)
            finally:
                os.close(fd)
        except OSError as exc:
            raise WitnessError(
                f"cannot write the witness {self.path}: {exc.strerror or exc}"
            ) from None

    def _lines(self) -> Iterator[tuple[int, bytes]]:
        with open(self.path, "rb") as fh:
            yield from enumerate(fh, start=1)

    def read(self, incident: str) -> Reading:
        if not self.path.is_file():
            return Reading(self.where, exists=False)
        out = Reading(self.where, exists=True)
        try:
            self._scan(incident, out)
        except OSError as exc:
            return Reading(self.where, exists=False, error=str(exc.strerror or exc))
        return out

    def _scan(self, incident: str, out: Reading) -> None:
        # the serialised form always holds this exact text: a cheap filter before parsing
        needle = f'"incident":{json.dumps(incident)}'.encode()
        for number, raw in self._lines():
            if out.signed_from is None and b'"hmac":' in raw:
                out.signed_from = number
            if needle not in raw:
                continue
            try:
                doc = _parse(raw)
                head = Head(doc["incident"], int(doc["seq"]), str(doc["hash"]), str(doc["time"]))
                mac = doc.get("hmac")
            except (ValueError, KeyError, TypeError):
                out.unreadable += 1
                continue
            if head.incident == incident:
                out.lines.append(Line(number, head, mac if isinstance(mac, str) else None))


def _parse(raw: bytes) -> dict:
    """One line; a line torn by a crash has the next whole line glued to it (keys are sorted,
    so a whole line starts with '{"hash":'): that one is still read."""
    try:
        return json.loads(raw)
    except ValueError:
        start = raw.rfind(b'{"hash":')
        if start <= 0:
            raise
        return json.loads(raw[start:])


def default_path(database_url: str) -> Path | None:
    """``<db>.witness`` beside a SQLite file; None for ``:memory:`` and server databases."""
    path = sqlite_path(database_url)
    return None if path is None else path.with_name(path.name + SUFFIX)


def open_witness(
    database_url: str, setting: str | bool | None = None, root: Path | None = None
) -> FileWitness | None:
    """The witness of a database: ``setting`` (oncall.yaml ``witness:``) is a path, relative
    to ``root``, or false/``off``; unset (or true) means the default beside a SQLite file."""
    if setting is False or (isinstance(setting, str) and setting.strip().lower() in OFF):
        return None
    if isinstance(setting, str) and setting.strip():
        path = Path(setting).expanduser()
        if not path.is_absolute() and root is not None:
            path = root / path
    else:
        path = default_path(database_url)
        if path is None:
            return None
    return FileWitness(path, key_from_env())
