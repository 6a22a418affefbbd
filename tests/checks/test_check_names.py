"""Names of preset endpoints join the check's name without a doubled word, so a declaration
prefilled from "Fraud model server" reads "Fraud model server ready: ...", not "server server"."""

from __future__ import annotations

import re

from mlops_oncall.checks.config import load_checks
from mlops_oncall.demo import write_checks
from mlops_oncall.drills.fake.catalog import SERVICES
from mlops_oncall.formats.words import plural


def test_the_demo_checks_have_no_doubled_word(tmp_path):
    path = write_checks(
        tmp_path / "checks.yaml",
        {s: f"http://127.0.0.1:{9000 + i}" for i, s in enumerate(SERVICES)},
    )
    checks, problems = load_checks(path)
    assert checks is not None, problems
    names = {s.id: s.name for s in checks}
    assert names["fraud.live"] == "Fraud model server live"
    assert names["fraud.ready"].startswith("Fraud model server ready")
    doubled = [n for n in names.values() if re.search(r"\b(\w+) \1\b", n, re.IGNORECASE)]
    assert doubled == [], plural(len(doubled), "name")
