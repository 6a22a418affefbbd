"""The two refusals every layer raises, kept at the bottom so that a reference parser here can
raise them too: the CLI turns either into one line and its exit code."""

from __future__ import annotations


class IncidentError(Exception):
    """The answer is no: unknown incident, invalid move, a time out of range. Exit 1."""

    exit_code = 1


class BadInput(IncidentError):
    """A value that cannot mean anything (bad severity, unparseable time). Exit 2."""

    exit_code = 2
