"""A separate process that appends notes and prints each event's id after its commit.

Used by the durability (SIGKILL) and concurrency tests: argv = URL INCIDENT_ID COUNT LABEL.
"""

import sys

from mlops_oncall.incidents.service import Incidents
from mlops_oncall.store.db import open_store


def main() -> None:
    url, incident, count, label = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    svc = Incidents(open_store(url), actor=label)
    print("ready", flush=True)
    for i in range(count):
        ev = svc.note(incident, f"{label} {i}")
        print(ev.id, flush=True)  # printed only after the commit returned


if __name__ == "__main__":
    main()
