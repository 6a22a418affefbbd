"""The dashboard's line for Alertmanager's inbox: how many alert groups wait for a human, the
newest of them, and the key that opens the inbox; hidden while the inbox is empty. A group
that arrives while the app runs is also an alarm (a toast), as a check crossing is.

Read on a thread when the store's watcher reports an alert group (the app calls
``refresh_inbox``), never on a timer."""

from __future__ import annotations

import contextlib
from typing import Any

from rich.text import Text
from textual import work
from textual.widgets import Static

from mlops_oncall.ui.coalesce import one_at_a_time


class InboxBanner(Static):
    DEFAULT_CSS = """
    InboxBanner {
        height: 1;
        width: 100%;
        background: $warning 30%;
        color: $text;
        padding: 0 1;
        text-wrap: nowrap;  /* one row: the newest group's name is cut, not wrapped away */
        text-overflow: ellipsis;
        display: none;
    }
    InboxBanner.-on { display: block; }
    """

    def __init__(self) -> None:
        super().__init__("", id="inbox-banner")
        self.inbox: list[Any] = []  # the inbox's groups as last read, newest first
        self._known: set[str] | None = None  # group ids seen; None before the first read

    @work(thread=True, group="inbox-banner")
    @one_at_a_time  # a storm's notifications: one read in flight, one more after it
    def refresh_inbox(self) -> None:
        app: Any = self.app
        if not app.ready:
            return
        try:
            groups = app.session.alerts.groups(brief=True)  # names and states: the line's
        except Exception:  # the store's trouble is said where it is written; keep the last line
            return
        with contextlib.suppress(RuntimeError):  # the app is closing
            app.call_from_thread(self._show, groups)

    def _show(self, groups: list[Any]) -> None:
        app: Any = self.app
        self.inbox = [g for g in groups if g.state == "inbox"]
        new = [g for g in groups if self._known is not None and g.id not in self._known]
        self._known = (self._known or set()) | {g.id for g in groups}
        line = inbox_line(self.inbox)
        if line is None:
            self.remove_class("-on")
        else:
            self.update(Text(line))
            self.add_class("-on")
        if new:
            from mlops_oncall.ui.screens.alerts import AlertsScreen

            alarm = alarm_text(new, hint=not isinstance(app.screen, AlertsScreen))
            sev = {g.row["severity"] for g in new}
            app.notify(
                alarm,
                title="Alertmanager",
                severity="error" if sev & {"SEV1", "SEV2"} else "warning",
                timeout=12 if app.size.width >= 100 else 8,
            )


def _label(g: Any) -> str:
    from mlops_oncall.reports.text import terminal_text

    service = f" on {g.row['service']}" if g.row["service"] else ""
    return terminal_text(f"{g.title}{service} {g.row['severity']}")


def inbox_line(inbox: list[Any]) -> str | None:
    """The banner's line, or None when nothing waits."""
    if not inbox:
        return None
    n = len(inbox)
    firing = sum(len(g.firing) for g in inbox)
    newest = inbox[0]
    # the key before the newest group's name: at 80 columns the line's end is cut
    return (
        f"🔔 {n} alert group{'s' * (n != 1)} in the inbox, {firing} firing (a: open) · "
        f"newest: {_label(newest)}"
    )


def alarm_text(new: list[Any], *, hint: bool = True) -> str:
    """One toast for the groups that arrived in one read (an alert storm is one toast);
    ``hint``: say which key opens the inbox (not while it is open)."""
    first = new[0]
    press = " Press a for the inbox." if hint else ""
    if len(new) > 1:
        return f"{len(new)} new alert groups, the newest {_label(first)}.{press}"
    if first.incident:
        return f"{_label(first)}: {first.id} declared {first.incident}."
    return f"{_label(first)} firing ({first.id}).{press}"
