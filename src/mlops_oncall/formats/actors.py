"""Who acted: the rule for a name stored on every event.

Its own small module because the CLI checks `--as` and $MLOPS_ONCALL_ACTOR before anything
runs, and the TUI's first frame must not wait for the workspace config's pydantic models."""

from __future__ import annotations

import unicodedata

ENV_ACTOR = "MLOPS_ONCALL_ACTOR"
MAX_ACTOR = 100
# the actor of what a check saw (the TUI's monitor, a drill's own polls): a blameless timeline
# does not put the name of the responder who had the TUI open on what a machine observed
MONITOR = "monitor"


def actor_problem(name: str) -> str | None:
    """Why a name cannot be an actor, or None. It is stored on every event and shown in every
    report, so it is one visible line."""
    if not name.strip():
        return "a name is needed, not an empty string"
    if len(name) > MAX_ACTOR:
        return f"a name is at most {MAX_ACTOR} characters, got {len(name)}"
    bad = next((c for c in name if unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp")), None)
    if bad is not None:
        return f"a name cannot hold control or format characters (found U+{ord(bad):04X})"
    return None
