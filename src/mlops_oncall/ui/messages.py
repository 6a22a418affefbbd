"""Messages posted to the app from worker and monitor threads (post_message is thread-safe)."""

from __future__ import annotations

from textual.message import Message


class ChecksUpdated(Message):
    """A batch of check views (only those that changed) and threshold transitions."""

    def __init__(self, views: list, transitions: list) -> None:
        super().__init__()
        self.views = views
        self.transitions = transitions


class DataChanged(Message):
    """Incidents or deploys changed (this process wrote, or a refresh found something new)."""

    def __init__(self, what: str = "all") -> None:
        super().__init__()
        self.what = what


class IncidentsChanged(Message):
    """The store's watcher saw new events on these incidents (from any terminal, this one too)."""

    def __init__(self, ids: frozenset[int]) -> None:
        super().__init__()
        self.ids = ids


class DeploysChanged(Message):
    """The store's watcher saw a deploy recorded or updated (deploys append no event)."""


class StoryEvent(Message):
    """The demo story (or a drill) did something the responder should hear about."""

    def __init__(self, text: str, severity: str = "information") -> None:
        super().__init__()
        self.text = text
        self.severity = severity


class DrillEnded(Message):
    """The drill running beside the TUI has ended (finished, aborted or failed)."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text


class AlertsChanged(Message):
    """The store's watcher saw an alert group received or decided (alerts/service.py)."""
