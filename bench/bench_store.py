"""Store speed against raw sqlite3 doing the same work on the same settings, in the same run.

appends  - durable single-event appends (WAL, synchronous=FULL, one transaction each)
latest   - the first screenful (newest 100 events) of an incident with 100,000 events
export   - the full evidence export of that incident
metrics  - TTD/TTA/TTM/TTR medians and p90 over 10,000 incidents

  python bench/bench_store.py [--appends 300] [--events 100000] [--incidents 10000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import json
import math
import sqlite3
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from mlops_oncall.formats.refs import public_id
from mlops_oncall.incidents.metrics import window_metrics
from mlops_oncall.incidents.service import Incidents
from mlops_oncall.store import timeline as tl
from mlops_oncall.store.db import open_store
from mlops_oncall.store.types import ts_text

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def raw_connect(path: Path) -> sqlite3.Connection:
    con = sqlite3.connect(path, isolation_level=None, timeout=30)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=FULL")
    con.execute("PRAGMA foreign_keys=ON")
    return con


def raw_append(con: sqlite3.Connection, incident_id: int, text: str) -> int:
    con.execute("BEGIN IMMEDIATE")
    seq, prev = con.execute(
        "SELECT head_seq, head_hash FROM incident WHERE id=?", (incident_id,)
    ).fetchone()
    seq += 1
    ts = ts_text(datetime.now(UTC))
    digest = tl.event_hash(
        public_id(incident_id), seq, ts, "raw", "note", text, "{}", prev or tl.GENESIS
    )
    cur = con.execute(
        "INSERT INTO event (incident_id, seq, ts, actor, kind, text, data, prev_hash, hash) VALUES (?,?,?,?,?,?,?,?,?)",
        (incident_id, seq, ts, "raw", "note", text, "{}", prev or tl.GENESIS, digest),
    )
    con.execute(
        "UPDATE incident SET head_seq=?, head_hash=?, updated_at=? WHERE id=?",
        (seq, digest, ts, incident_id),
    )
    con.execute("COMMIT")
    return cur.lastrowid


def fill_events(path: Path, incident_id: int, n: int) -> None:
    """Append n chained events fast (one transaction) so the incident is realistic and verifiable."""
    con = raw_connect(path)
    seq, prev = con.execute(
        "SELECT head_seq, head_hash FROM incident WHERE id=?", (incident_id,)
    ).fetchone()
    prev = prev or tl.GENESIS
    rows = []
    pid = public_id(incident_id)
    for i in range(n):
        seq += 1
        ts = ts_text(T0 + timedelta(seconds=seq))
        data = tl.canonical_data({"i": i})
        digest = tl.event_hash(pid, seq, ts, "bench", "note", f"event {i}", data, prev)
        rows.append((incident_id, seq, ts, "bench", "note", f"event {i}", data, prev, digest))
        prev = digest
    con.execute("BEGIN")
    con.executemany(
        "INSERT INTO event (incident_id, seq, ts, actor, kind, text, data, prev_hash, hash) VALUES (?,?,?,?,?,?,?,?,?)",
        rows,
    )
    # updated_at as the app keeps it (the last event's time): verify checks it
    con.execute(
        "UPDATE incident SET head_seq=?, head_hash=?, updated_at=? WHERE id=?",
        (seq, prev, ts, incident_id),
    )
    con.execute("COMMIT")
    con.close()


def fill_incidents(path: Path, n: int) -> None:
    con = raw_connect(path)
    rows = []
    for i in range(n):
        d = T0 + timedelta(minutes=37 * i)

        def t(s: float, d: datetime = d) -> str:
            return ts_text(d + timedelta(seconds=s))

        rows.append(
            (
                f"inc {i}",
                f"SEV{i % 4 + 1}",
                "resolved",
                t(0),
                t(0),
                t(-60 - i % 50),
                "manual",
                t(0),
                "manual",
                t(30 + i % 90),
                "manual",
                t(0),
                "manual",
                t(600 + i % 900),
                "manual",
                t(1800 + i % 3600),
                "manual",
                0,
                "draft",
                0,
                "",
            )
        )
    con.execute("BEGIN")
    con.executemany(
        "INSERT INTO incident (title, severity, status, created_at, updated_at, impact_started_at, impact_started_source,"
        " detected_at, detected_source, acknowledged_at, acknowledged_source, declared_at, declared_source,"
        " mitigated_at, mitigated_source, resolved_at, resolved_source, is_drill, postmortem_status, head_seq, head_hash)"
        " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        rows,
    )
    con.execute("COMMIT")
    con.close()


def raw_metrics(con: sqlite3.Connection) -> dict:
    rows = con.execute(
        "SELECT severity,"
        " (julianday(detected_at) - julianday(impact_started_at)) * 86400.0,"
        " (julianday(acknowledged_at) - julianday(detected_at)) * 86400.0,"
        " (julianday(mitigated_at) - julianday(detected_at)) * 86400.0,"
        " (julianday(resolved_at) - julianday(detected_at)) * 86400.0"
        " FROM incident WHERE is_drill = 0 AND status != 'declined'"
    ).fetchall()
    out = {}
    for k, idx in (("ttd", 1), ("tta", 2), ("ttm", 3), ("ttr", 4)):
        vals = sorted(r[idx] for r in rows if r[idx] is not None)
        out[k] = (
            vals[max(1, math.ceil(0.5 * len(vals))) - 1],
            vals[max(1, math.ceil(0.9 * len(vals))) - 1],
        )
    return out


def median_time(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--appends", type=int, default=300)
    ap.add_argument("--events", type=int, default=100_000)
    ap.add_argument("--incidents", type=int, default=10_000)
    ap.add_argument("--repeat", type=int, default=5)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.db"
        store = open_store(f"sqlite:///{path}")
        svc = Incidents(store, actor="bench")
        inc = svc.declare("appends", "SEV3")
        iid = inc.row.id
        con = raw_connect(path)

        # 1. durable appends, alternating ours and raw in blocks so noise hits both
        ours, raw = [], []
        for _ in range(a.repeat):
            t = time.perf_counter()
            for i in range(a.appends // a.repeat):
                svc.note(inc.id, f"n {i}")
            ours.append((a.appends // a.repeat) / (time.perf_counter() - t))
            t = time.perf_counter()
            for i in range(a.appends // a.repeat):
                raw_append(con, iid, f"r {i}")
            raw.append((a.appends // a.repeat) / (time.perf_counter() - t))
        assert svc.verify(inc.id).ok
        r_ours, r_raw = statistics.median(ours), statistics.median(raw)
        print(
            f"durable appends: ours {r_ours:.0f}/s, raw {r_raw:.0f}/s -> {r_ours / r_raw:.2f}x raw (target >= 0.15x)"
        )

        # 2/3. a 100k-event incident: first screenful and full export
        big = svc.declare("big", "SEV3")
        fill_events(path, big.row.id, a.events)
        assert svc.verify(big.id).ok
        bid = big.row.id
        t_ours = median_time(lambda: svc.latest(big.id, 100), a.repeat * 20)
        t_raw = median_time(
            lambda: con.execute(
                "SELECT id, seq, ts, actor, kind, text, data, prev_hash, hash FROM event WHERE incident_id=? ORDER BY seq DESC LIMIT 100",
                (bid,),
            ).fetchall(),
            a.repeat * 20,
        )
        print(
            f"latest 100 of {a.events}: ours {t_ours * 1000:.2f} ms, raw {t_raw * 1000:.2f} ms -> {t_ours / t_raw:.2f}x (target <= 2x)"
        )
        t_ours = median_time(lambda: "".join(svc.export(big.id)), a.repeat)
        t_raw = median_time(
            lambda: con.execute(
                "SELECT seq, ts, actor, kind, text, data, prev_hash, hash FROM event WHERE incident_id=? ORDER BY seq",
                (bid,),
            ).fetchall(),
            a.repeat,
        )
        doc = json.loads("".join(svc.export(big.id)))
        assert len(doc["events"]) == a.events + 3 and doc["head"]["seq"] == a.events + 3
        print(
            f"export of {a.events}: ours {t_ours * 1000:.0f} ms, raw query {t_raw * 1000:.0f} ms -> {t_ours / t_raw:.2f}x (target <= 2x)"
        )

        # 4. metrics over 10k incidents
        fill_incidents(path, a.incidents)
        with store.read() as c:
            m = window_metrics(c)
        assert m["incidents"] >= a.incidents
        rm = raw_metrics(con)
        assert abs(m["ttr"]["median"] - rm["ttr"][0]) < 0.01, (m["ttr"], rm["ttr"])

        def ours_metrics():
            with store.read() as c:
                window_metrics(c)

        t_ours = median_time(ours_metrics, a.repeat)
        t_raw = median_time(lambda: raw_metrics(con), a.repeat)
        print(
            f"metrics over {a.incidents}: ours {t_ours * 1000:.1f} ms, raw SQL {t_raw * 1000:.1f} ms -> {t_ours / t_raw:.2f}x (target <= 3x)"
        )
        con.close()
        store.close()


if __name__ == "__main__":
    main()
