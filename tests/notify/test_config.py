"""A bad `notify:` or `update_every:` in oncall.yaml is one located line (file:line: field:
what was expected) and exit 2; a URL, key, token or password written in clear is refused."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize(
    ("yaml", "line", "expected"),
    [
        ("notify:\n  team:\n    type: teams\n    url: ${env:X}\n", 4, "notify.team.type"),
        ("notify:\n  team:\n    type: slack\n    url: https://hooks.slack.com/services/T/B/x\n",
         5, "notify.team.url: write it as ${env:NAME}"),
        ("notify:\n  sp:\n    type: statuspage\n    page_id: p1\n    key: abc123\n", 6,
         "notify.sp.key: write it as ${env:NAME}"),
        ("notify:\n  sp:\n    type: statuspage\n    page_id: p1\n", 4,
         "notify.sp: type: statuspage needs key"),
        ("notify:\n  mail:\n    type: smtp\n    host: mx\n    sender: a@b\n", 4,
         "notify.mail: type: smtp needs to"),
        ("notify:\n  hook:\n    type: webhook\n    url: ${env:X}\n    retries: 9\n", 6,
         "notify.hook.retries"),
        ("notify:\n  hook:\n    type: webhook\n    url: ${env:X}\n    timeout: 10m\n", 6,
         "notify.hook.timeout"),
        ("notify:\n  hook:\n    type: webhook\n    url: ${env:X}\n    urll: y\n", 6,
         "unknown field 'urll'"),
        ("update_every:\n  SEV9: 30m\n", 3, "update_every"),
        ("update_every:\n  SEV1: soon\n", 3, "update_every.SEV1"),
    ],
)  # fmt: skip
def test_a_bad_notify_section_is_a_located_error(cli, tmp_path, yaml, line, expected):
    (tmp_path / "oncall.yaml").write_text("name: t\n" + yaml)
    r = cli("incident", "list")
    assert r.code == 2
    first = r.err.strip().splitlines()[0]
    assert first.startswith(f"{tmp_path / 'oncall.yaml'}:{line}:"), first
    assert expected in first, first
