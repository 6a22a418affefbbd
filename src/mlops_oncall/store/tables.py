"""The Core view of the tables, for the statements on the hot paths.

The tables are declared once, as SQLModel models in ``store.models`` (the typed records the
services return). Appends, the timeline's first screenful, the export and the metrics are Core
statements (some compiled once, ``store.compiled``) built from these ``Table`` objects: no ORM
session or unit of work on those paths. SQLModel and ``sqlalchemy.orm`` cost about 10 MiB and
0.15 s of import, which is why the TUI opens the store only after its first frame.
"""

from __future__ import annotations

from mlops_oncall.store import models

metadata = models.metadata  # the models' own MetaData, not SQLModel's global one

Meta = models.Meta.__table__
Incident = models.Incident.__table__
Event = models.Event.__table__
RoleAssignment = models.RoleAssignment.__table__
ActionItem = models.ActionItem.__table__
Deployment = models.Deployment.__table__
TriageRunbook = models.TriageRunbook.__table__
CheckTransition = models.CheckTransition.__table__
CheckRollup = models.CheckRollup.__table__
CheckMinute = models.CheckMinute.__table__
Risk = models.Risk.__table__
RiskReview = models.RiskReview.__table__
RiskLink = models.RiskLink.__table__
Drill = models.Drill.__table__
DrillInject = models.DrillInject.__table__
Presence = models.Presence.__table__
AlertGroup = models.AlertGroup.__table__
Alert = models.Alert.__table__
NotifyDelivery = models.NotifyDelivery.__table__
SloEpisode = models.SloEpisode.__table__
