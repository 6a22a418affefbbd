"""The words the layers share about a check: its states and the classes of its errors.

At the bottom so the probe, the state machine, runbooks (which match on error classes), the
incident checks and the UI all read one list; nothing here imports anything.
"""

from __future__ import annotations

from typing import Literal

State = Literal["unknown", "up", "degraded", "down", "maintenance"]
STATES: tuple[str, ...] = State.__args__  # type: ignore[attr-defined]
FAILING = ("degraded", "down")  # the states that raise an alarm and ask for an incident

# Why a probe failed. The order is stored: a check's ring keeps the index, so append only.
ErrorClass = Literal[
    "dns",
    "connect",
    "tls",
    "timeout",
    "http_status",
    "body_too_large",
    "redirects",
    "body_parse",
    "condition",
    "protocol",
    # gRPC: the health service does not know the service name asked for; the server does not
    # implement the method; the call was refused for its credentials; any other status code
    "service_unknown",
    "unimplemented",
    "unauthenticated",
    "grpc_status",
    # Prometheus: the query was refused (400 bad_data), could not be executed (422), timed
    # out or was cancelled (503); and a query that gave no series or no number (checks/promql.py)
    "promql_bad_data",
    "promql_execution",
    "promql_unavailable",
    "no_data",
]
ERROR_CLASSES: tuple[str, ...] = ErrorClass.__args__  # type: ignore[attr-defined]
