"""Cross-file rules: unique ids per folder, shadowing, stale and related warnings, the cache."""

from __future__ import annotations

import os
import shutil
from datetime import date

from mlops_oncall.runbooks.cache import ParsedCache
from mlops_oncall.runbooks.library import Library, shipped_dir
from tests.conftest import FIXTURES

ONE = (FIXTURES / "ranking" / "latency.yaml").read_text()


def _write(folder, name, text):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(text)
    return folder / name


def test_duplicate_ids_in_one_folder_is_an_error(tmp_path):
    _write(tmp_path / "rb", "a.yaml", ONE)
    _write(tmp_path / "rb", "b.yaml", ONE)
    lib = Library.load(paths=[tmp_path / "rb"])
    assert [str(p) for p in lib.problems] == [
        f"{tmp_path}/rb/b.yaml:1:5: id: runbook id 'latency' is already used by {tmp_path}/rb/a.yaml"
    ]
    assert lib.get("latency").file.endswith("a.yaml")


def test_workspace_shadows_shipped_with_a_warning(tmp_path):
    shipped_text = (shipped_dir() / "model-latency-spike.yaml").read_text()
    f = _write(tmp_path / "ws", "mine.yaml", shipped_text.replace("title: ", "title: Ours - ", 1))
    lib = Library.load([tmp_path / "ws"], today=date(2026, 11, 28))
    entry = lib.get("model-latency-spike")
    assert entry.source == "workspace"
    assert entry.runbook.title.startswith("Ours - ")
    shadows = [p for p in lib.problems if "shadows" in p.message]
    assert [str(p) for p in shadows] == [
        f"{f}:1:5: warning: id: shadows the shipped runbook 'model-latency-spike' (the workspace's is used)"
    ]
    assert not lib.errors


def test_stale_runbook_warns_but_loads(tmp_path):
    f = _write(tmp_path / "rb", "old.yaml", ONE.replace("2026-11-01", "2026-01-01"))
    lib = Library.load(paths=[tmp_path / "rb"], today=date(2026, 11, 28))
    assert [str(p) for p in lib.problems] == [
        f"{f}:6:17: warning: last_validated: runbook is stale: last validated 331 days ago "
        "(more than 180); walk through it and update the date"
    ]
    assert lib.get("latency").stale is True
    fresh = Library.load(paths=[tmp_path / "rb"], today=date(2026, 2, 1))
    assert fresh.problems == [] and fresh.get("latency").stale is False


def test_unknown_related_runbook_warns(tmp_path):
    f = _write(tmp_path / "rb", "r.yaml", ONE + "related: [nope]\n")
    lib = Library.load(paths=[tmp_path / "rb"], today=date(2026, 11, 28))
    assert [str(p) for p in lib.problems] == [
        f"{f}:19:11: warning: related[0]: related runbook 'nope' is not in the library"
    ]


def test_missing_path_is_an_error(tmp_path):
    lib = Library.load(paths=[tmp_path / "nowhere"])
    assert [p.message for p in lib.problems] == ["no such file or folder"]


def test_cache_reuses_parsed_files_and_notices_edits(tmp_path):
    folder = tmp_path / "rb"
    f = _write(folder, "a.yaml", ONE)
    cache_file = tmp_path / "c" / "runbooks.pickle"
    first = Library.load(paths=[folder], cache=ParsedCache(cache_file))
    assert cache_file.exists()
    assert first.get("latency").runbook.title == "Model serving latency spike"

    warm = ParsedCache(cache_file)
    key = os.path.abspath(f)
    assert key in warm._entries  # the parsed file is served from the cache
    second = Library.load(paths=[folder], cache=warm)
    assert second.get("latency").runbook == first.get("latency").runbook

    f.write_text(ONE.replace("Model serving latency spike", "Edited title that is longer"))
    st = f.stat()
    os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))
    third = Library.load(paths=[folder], cache=ParsedCache(cache_file))
    assert third.get("latency").runbook.title == "Edited title that is longer"


def test_a_cold_load_keeps_models_compressed_until_used(tmp_path):
    folder = tmp_path / "rb"
    f = _write(folder, "a.yaml", ONE)
    cache = ParsedCache(tmp_path / "c" / "runbooks.pickle")
    lib = Library.load(paths=[folder], cache=cache)
    loaded = cache._entries[os.path.abspath(f)][2]
    assert loaded._runbook is None and loaded._blob is not None  # no pydantic model held
    assert lib.get("latency").summary.title == "Model serving latency spike"
    assert loaded._runbook is None  # listing and matching read the summary only
    assert lib.get("latency").runbook.steps[0].id  # inflated on first use
    assert loaded._runbook is not None


def test_corrupt_or_deleted_cache_is_rebuilt(tmp_path):
    folder = tmp_path / "rb"
    _write(folder, "a.yaml", ONE)
    cache_file = tmp_path / "c" / "runbooks.pickle"
    cache_file.parent.mkdir()
    cache_file.write_bytes(b"\x80\x05garbage")
    lib = Library.load(paths=[folder], cache=ParsedCache(cache_file))
    assert lib.get("latency") is not None
    shutil.rmtree(cache_file.parent)
    lib = Library.load(paths=[folder], cache=ParsedCache(cache_file))
    assert lib.get("latency") is not None and cache_file.exists()
