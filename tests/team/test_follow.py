"""Live updates: `incident timeline --follow` as a real process, on SQLite and on a real
PostgreSQL (NOTIFY, a killed listener), and the store's watcher beside it.

Every wait is on a line of output or a callback, with a deadline; nothing sleeps."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import threading

import pytest

from tests.conftest import console_script

pytestmark = pytest.mark.timeout(120)
DEADLINE_S = 30  # generous: the machine is shared; only a hang reaches it


class Follower:
    """`mlops-oncall ARGS` running, its stdout and stderr read line by line on threads."""

    def __init__(self, *args: str):
        self.proc = subprocess.Popen(
            [console_script(), *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=dict(os.environ),
        )
        self.out: queue.Queue[str | None] = queue.Queue()
        self.err: queue.Queue[str | None] = queue.Queue()
        self.seen_out: list[str] = []
        self.seen_err: list[str] = []
        for pipe, q in ((self.proc.stdout, self.out), (self.proc.stderr, self.err)):
            threading.Thread(target=self._pump, args=(pipe, q), daemon=True).start()

    @staticmethod
    def _pump(pipe, q) -> None:
        for line in pipe:
            q.put(line.rstrip("\n"))
        q.put(None)

    def _expect(self, q, seen, pred, what) -> str:
        while True:
            try:
                line = q.get(timeout=DEADLINE_S)
            except queue.Empty:
                raise AssertionError(f"no {what} within {DEADLINE_S}s; saw {seen}") from None
            if line is None:
                q.put(None)
                raise AssertionError(f"the process ended before {what}; saw {seen}")
            seen.append(line)
            if pred(line):
                return line

    def expect(self, pred, what: str = "line") -> str:
        return self._expect(self.out, self.seen_out, pred, what)

    def expect_err(self, pred, what: str = "stderr line") -> str:
        return self._expect(self.err, self.seen_err, pred, what)

    def stop(self, sig=signal.SIGINT) -> tuple[int, list[str], str]:
        """Send ``sig``; the exit code, every stdout line, and all of stderr."""
        self.proc.send_signal(sig)
        code = self.proc.wait(timeout=DEADLINE_S)
        for q, seen in ((self.out, self.seen_out), (self.err, self.seen_err)):
            while (line := q.get(timeout=DEADLINE_S)) is not None:
                seen.append(line)
        return code, self.seen_out, "\n".join(self.seen_err)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture
def follow():
    started: list[Follower] = []

    def start(*args: str) -> Follower:
        f = Follower(*args)
        started.append(f)
        return f

    yield start
    for f in started:
        f.kill()


@pytest.fixture
def on_pg(pg_url, monkeypatch):
    monkeypatch.setenv("MLOPS_ONCALL_DATABASE", pg_url)
    return pg_url


def _declare(cli_proc) -> int:
    r = cli_proc("incident", "declare", "--title", "ranker drift", "--severity", "SEV2")
    assert r.code == 0, r.err
    return len(cli_proc("incident", "timeline", "INC-0001", "--json").json())


def _note(cli_proc, text: str, actor: str = "ops-lead") -> None:
    r = cli_proc("incident", "note", "INC-0001", text, env={"MLOPS_ONCALL_ACTOR": actor})
    assert r.code == 0, r.err


def _seqs(lines: list[str]) -> list[int]:
    return [json.loads(line)["seq"] for line in lines]


def _follow_sees_another_process(cli_proc, follow) -> None:
    existing = _declare(cli_proc)
    f = follow("incident", "timeline", "INC-0001", "--follow", "--json")
    f.expect(lambda line: json.loads(line)["seq"] == existing, "the existing events")
    _note(cli_proc, "rolled back the ranker to v41")
    line = json.loads(f.expect(lambda line: "v41" in line, "the other process's note"))
    code, lines, err = f.stop()
    assert code == 0, err
    assert "Traceback" not in err
    assert line["actor"] == "ops-lead" and line["kind"] == "note"
    # the same shape as `timeline --json`, one event per line, nothing twice, nothing skipped
    assert [json.loads(x) for x in lines] == cli_proc(
        "incident", "timeline", "INC-0001", "--json"
    ).json()
    assert _seqs(lines) == list(range(1, existing + 2))


def test_follow_prints_a_note_from_another_process_on_sqlite(cli_proc, follow):
    _follow_sees_another_process(cli_proc, follow)


def test_follow_prints_a_note_from_another_process_on_postgres(on_pg, cli_proc, follow):
    _follow_sees_another_process(cli_proc, follow)


def test_follow_text_stops_on_sigterm_with_exit_0(cli_proc, follow):
    existing = _declare(cli_proc)
    f = follow("incident", "timeline", "INC-0001", "--follow", "--last", "1")
    f.expect(lambda line: f"#{existing} " in line, "the newest event")
    _note(cli_proc, "paged the feature store owner")
    line = f.expect(lambda line: "feature store owner" in line, "the note")
    code, lines, err = f.stop(signal.SIGTERM)
    assert code == 0 and "Traceback" not in err, err
    assert f"#{existing + 1} " in line and "ops-lead" in line and " note " in line
    assert len(lines) == 2  # --last 1, then the one new event


def test_follow_an_unknown_incident_is_one_line_exit_1(cli_proc):
    r = cli_proc("incident", "timeline", "INC-0042", "--follow")
    assert (r.code, r.out, r.err) == (1, "", "error: unknown incident 'INC-0042'\n")


def _listeners(admin_url: str, db: str) -> list[int]:
    import psycopg

    from mlops_oncall.store.live import APPLICATION_NAME

    with psycopg.connect(admin_url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE application_name = %s AND datname = %s",
            (APPLICATION_NAME, db),
        ).fetchall()
    return [pid for (pid,) in rows]


def test_follow_survives_its_listener_being_killed(on_pg, pg_admin_url, cli_proc, follow):
    import psycopg

    existing = _declare(cli_proc)
    db = on_pg.rpartition("/")[2]
    f = follow("incident", "timeline", "INC-0001", "--follow", "--json")
    f.expect(lambda line: json.loads(line)["seq"] == existing, "the existing events")
    _note(cli_proc, "before the kill")
    f.expect(lambda line: "before the kill" in line, "the first note")
    (pid,) = _listeners(pg_admin_url, db)  # one LISTEN connection, found by application_name
    with psycopg.connect(pg_admin_url, autocommit=True) as admin:
        assert admin.execute("SELECT pg_terminate_backend(%s)", (pid,)).fetchone() == (True,)
    f.expect_err(lambda line: "lost the live connection" in line, "the lost-connection warning")
    _note(cli_proc, "while reconnecting")  # may land before or after the new LISTEN
    f.expect(lambda line: "while reconnecting" in line, "the note appended meanwhile")
    f.expect_err(lambda line: "reconnected" in line, "the reconnection")
    (new_pid,) = _listeners(pg_admin_url, db)
    assert new_pid != pid
    _note(cli_proc, "after the reconnection")
    f.expect(lambda line: "after the reconnection" in line, "the note after reconnecting")
    code, lines, err = f.stop()
    assert code == 0 and "Traceback" not in err, err
    assert _seqs(lines) == list(range(1, existing + 4))  # no duplicates, no gaps


def test_notify_is_sent_on_commit_only_and_carries_no_text(on_pg):
    """A rolled-back append notifies nobody; a committed one sends '<incident>:<seq>'."""
    import psycopg

    from mlops_oncall.config import load_workspace
    from mlops_oncall.session import Session
    from mlops_oncall.store import timeline as tl
    from mlops_oncall.store.live import CHANNEL

    session = Session(load_workspace(None), database_url=on_pg)
    try:
        session.incidents.declare(title="embedding service down", severity="SEV1")
        head, _ = session.incidents.head("INC-0001")
        with psycopg.connect(on_pg, autocommit=True) as listener:
            listener.execute(f"LISTEN {CHANNEL}")
            with pytest.raises(RuntimeError), session.store.write() as conn:
                app = tl.Appender.for_row(conn, tl.lock_incident(conn, 1))
                app.append("note", ts=session.clock.now(), actor="x", text="rolled back")
                raise RuntimeError("abort")
            session.incidents.note("INC-0001", "secret-looking text stays out")
            got = next(listener.notifies(timeout=DEADLINE_S))
        assert got.channel == CHANNEL
        assert got.payload == f"1:{head + 1}"  # the rolled-back append sent nothing
    finally:
        session.close()


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_watcher_reports_new_incidents_and_appends(backend, request, cli_proc):
    """Watching every incident (the dashboard): another process's declare and note are
    reported with the incident's id."""
    from mlops_oncall.config import load_workspace
    from mlops_oncall.session import Session

    if backend == "postgresql":
        request.getfixturevalue("on_pg")
    _declare(cli_proc)
    reports: queue.Queue[frozenset[int]] = queue.Queue()
    session = Session(load_workspace(None))
    watcher = session.watch(reports.put)
    try:
        watcher.start()

        def wait_for(iid: int) -> None:
            while iid not in reports.get(timeout=DEADLINE_S):
                pass

        r = cli_proc("incident", "declare", "--title", "second", "--severity", "SEV3")
        assert r.out.strip() == "INC-0002", r.err
        wait_for(2)
        _note(cli_proc, "on the first")
        wait_for(1)
        assert watcher.heads[1] == len(session.incidents.events("INC-0001"))
    finally:
        watcher.stop()
        session.close()


def test_watcher_fallback_poll_sees_a_change_that_sent_no_notification(on_pg, cli_proc):
    """A missed NOTIFY (here: a head moved by hand, and a stranger's payload on the channel)
    is still reported, by the heads re-read every FALLBACK_S."""
    import psycopg

    from mlops_oncall.config import load_workspace
    from mlops_oncall.session import Session
    from mlops_oncall.store.live import CHANNEL

    _declare(cli_proc)
    reports: queue.Queue[frozenset[int]] = queue.Queue()
    session = Session(load_workspace(None))
    watcher = session.watch(reports.put, incidents=[1])
    try:
        watcher.start()
        head = watcher.heads[1]
        with psycopg.connect(on_pg, autocommit=True) as conn:
            conn.execute(f"NOTIFY {CHANNEL}, 'not ours'")
            conn.execute("UPDATE incident SET head_seq = head_seq + 1 WHERE id = 1")
        assert reports.get(timeout=DEADLINE_S) == frozenset({1})
        assert watcher.heads[1] == head + 1
    finally:
        watcher.stop()
        session.close()
