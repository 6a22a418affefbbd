"""Public record ids and their inverse: ``INC-0042`` from 42, and 42 back from what a user types."""

from __future__ import annotations

import re

from mlops_oncall.formats.errors import IncidentError

_REF = re.compile(r"^(?:inc-?)?0*(\d+)$", re.IGNORECASE)

# the largest id a database can hold: a bigger number is no incident, not an overflow in SQL
MAX_ID = 2**63 - 1


def public_id(incident_id: int) -> str:
    return f"INC-{incident_id:04d}"


def parse_ref(ref: str | int) -> int:
    """The incident id in ``INC-0042``, ``inc42``, ``42`` or 42; IncidentError if it names none."""
    if isinstance(ref, int):
        if not 0 < ref <= MAX_ID:
            raise IncidentError(f"unknown incident '{ref}'")
        return ref
    m = _REF.match(ref.strip())
    if not m or int(m.group(1)) == 0:
        raise IncidentError(f"unknown incident '{ref}' (ids look like INC-0001)")
    if int(m.group(1)) > MAX_ID:
        raise IncidentError(f"unknown incident '{ref}'")
    return int(m.group(1))


def drill_ref(drill_id: int) -> str:
    """A drill's public id: ``DRILL-0001`` (here, below every layer, so reports name drills
    without importing drills)."""
    return f"DRILL-{drill_id:04d}"


def parse_drill_ref(ref: str) -> int | None:
    """The drill id in ``DRILL-0001``, ``drill1`` or ``1``; None when it is not one."""
    ref = ref.strip().upper()
    for prefix in ("DRILL-", "DRILL"):
        if ref.startswith(prefix):
            ref = ref[len(prefix) :]
    # ASCII digits only ('²'.isdigit() is true), and within SQLite's 64-bit INTEGER
    if not (ref.isascii() and ref.isdigit()) or len(ref) > 19:
        return None
    n = int(ref)
    return n if 0 < n <= MAX_ID else None


def alert_group_ref(group_id: int) -> str:
    """An alert group's public id: ``ALG-0001``."""
    return f"ALG-{group_id:04d}"


def parse_alert_group_ref(ref: str | int) -> int:
    """The group id in ``ALG-0001``, ``alg1`` or ``1``; IncidentError if it names none."""
    if isinstance(ref, int):
        if not 0 < ref <= MAX_ID:
            raise IncidentError(f"unknown alert group '{ref}'")
        return ref
    m = re.match(r"^(?:alg-?)?0*(\d+)$", ref.strip(), re.IGNORECASE)
    if not m or not 0 < int(m.group(1)) <= MAX_ID:
        raise IncidentError(f"unknown alert group '{ref}' (ids look like ALG-0001)")
    return int(m.group(1))
