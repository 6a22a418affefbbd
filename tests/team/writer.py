"""One writer process for the concurrency tests: appends N notes to an incident as ACTOR.

python -m tests.team.writer DATABASE_URL INC-0001 ACTOR N
"""

from __future__ import annotations

import sys

from mlops_oncall.config import load_workspace
from mlops_oncall.session import Session


def main(url: str, ref: str, actor: str, count: int) -> None:
    workspace = load_workspace(None)
    workspace.as_actor = actor
    session = Session(workspace, database_url=url)
    try:
        for i in range(count):
            session.incidents.note(ref, f"{actor} note {i}")
    finally:
        session.close()


if __name__ == "__main__":
    url, ref, actor, count = sys.argv[1:]
    main(url, ref, actor, int(count))
