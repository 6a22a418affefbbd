"""A big workspace: 1,000 checks, 1,000 runbooks and an incident of 50,000 events.

    python bench/tui/make_workspace.py DIR URL
URL is a fast local endpoint the checks poll (e.g. the fake system's fraud server).
"""

from __future__ import annotations

import random
import sqlite3
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench_runbooks import make_runbook
from mlops_oncall.formats.refs import public_id
from mlops_oncall.incidents.service import Incidents
from mlops_oncall.store import timeline as tl
from mlops_oncall.store.db import open_store
from mlops_oncall.store.types import ts_text


def main(
    root: Path, url: str, checks: int = 1000, runbooks: int = 1000, events: int = 50_000
) -> None:
    root.mkdir(parents=True, exist_ok=True)
    (root / "oncall.yaml").write_text("name: big\nrunbooks: [runbooks]\nchecks: checks.yaml\n")
    lines = ["defaults: {interval: 30s, timeout: 2s}", "checks:"]
    for i in range(checks):
        lines += [
            f"  - id: svc-{i:04d}.ready",
            f"    url: {url}",
            f"    group: group-{i % 20:02d}",
            f"    service: svc-{i % 50}",
        ]
    (root / "checks.yaml").write_text("\n".join(lines) + "\n")
    rb = root / "runbooks"
    rb.mkdir(exist_ok=True)
    rng = random.Random(3)
    for i in range(runbooks):
        (rb / f"rb-{i:04d}.yaml").write_text(make_runbook(i, rng))
    store = open_store(f"sqlite:///{root / 'oncall.db'}")
    view = Incidents(store).declare("a long incident", "SEV2", service="svc-1")
    store.close()
    con = sqlite3.connect(root / "oncall.db")
    iid = view.row.id
    seq, prev = con.execute(
        "SELECT head_seq, head_hash FROM incident WHERE id=?", (iid,)
    ).fetchone()
    t0 = datetime.now(UTC) - timedelta(days=2)
    rows = []
    for i in range(events):
        seq += 1
        ts = ts_text(t0 + timedelta(seconds=i))
        text = f"note {i}"
        digest = tl.event_hash(public_id(iid), seq, ts, "bench", "note", text, "{}", prev)
        rows.append((iid, seq, ts, "bench", "note", text, "{}", prev, digest))
        prev = digest
    con.executemany(
        "INSERT INTO event (incident_id, seq, ts, actor, kind, text, data, prev_hash, hash) VALUES (?,?,?,?,?,?,?,?,?)",
        rows,
    )
    con.execute("UPDATE incident SET head_seq=?, head_hash=? WHERE id=?", (seq, prev, iid))
    con.commit()
    con.close()


if __name__ == "__main__":
    main(Path(sys.argv[1]), sys.argv[2])
