"""Postmortem drafts on disk: beside a SQLite database, 0600, replaced atomically, keyed so a
reset database's INC-0001 never shows another incident's draft, and a damaged file is set aside
(not written over, not a crash)."""

from __future__ import annotations

import json
import stat
from datetime import UTC, datetime

import pytest

from mlops_oncall.reports.drafts import Drafts, draft_key, drafts_path
from mlops_oncall.reports.output import OutputRefused, Protected, write_document

T = datetime(2026, 11, 28, 3, 0, tzinfo=UTC)


def test_path_is_beside_a_sqlite_file_and_under_the_data_dir_otherwise(tmp_path, monkeypatch):
    assert drafts_path(f"sqlite:///{tmp_path}/oncall.db") == tmp_path / "oncall.db.drafts.json"
    monkeypatch.setenv("MLOPS_ONCALL_DATA_DIR", str(tmp_path / "data"))
    p = drafts_path("postgresql://u@db/oncall")
    assert p.parent == tmp_path / "data" / "drafts" and p.suffix == ".json"


def test_save_load_forget(tmp_path):
    d = Drafts(tmp_path / "oncall.db.drafts.json")
    a, b = draft_key("INC-0001", T), draft_key("INC-0002", T)
    d.save(a, {"summary": "half a sentence", "impact": "ünïcode ✎"})
    d.save(b, {"lucky": "night time"})
    assert Drafts(d.path).load(a) == {"summary": "half a sentence", "impact": "ünïcode ✎"}
    assert stat.S_IMODE(d.path.stat().st_mode) == 0o600
    d.save(a, {})
    assert d.load(a) == {} and d.load(b) == {"lucky": "night time"}
    assert not list(tmp_path.glob(".*tmp"))  # no temporary file left behind


def test_a_reset_database_does_not_inherit_a_draft(tmp_path):
    d = Drafts(tmp_path / "x.json")
    d.save(draft_key("INC-0001", T), {"summary": "old incident"})
    assert d.load(draft_key("INC-0001", T.replace(hour=4))) == {}


def test_a_damaged_file_is_set_aside_not_written_over(tmp_path):
    path = tmp_path / "oncall.db.drafts.json"
    path.write_text("{not json")
    d = Drafts(path)
    assert d.load("k") == {}
    assert (tmp_path / "oncall.db.drafts.json.unreadable").read_text() == "{not json"
    d.save("k", {"summary": "s"})
    assert json.loads(path.read_text())["drafts"] == {"k": {"summary": "s"}}


def test_an_export_cannot_replace_the_drafts_file(tmp_path):
    db = tmp_path / "oncall.db"
    p = Protected()
    p.add_database(f"sqlite:///{db}")
    with pytest.raises(OutputRefused, match="drafts"):
        write_document(tmp_path / "oncall.db.drafts.json", "x", force=True, protected=p)
