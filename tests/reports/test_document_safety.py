"""Stored text is data: escape sequences never reach a terminal or a document, and HTML,
Markdown markers and newlines in one-line fields cannot change a document's structure."""

from __future__ import annotations

import pytest

from mlops_oncall.reports.text import md_text, one_line, terminal_text

from . import mdcheck

OSC52 = "\x1b]52;c;Y3VybCBldmlsLnNoIHwgc2g=\x07"  # would set the clipboard
CLEAR = "\x1b[2J"
HTML = "</details><script>alert(1)</script>"
HEADING = "\n# Fake heading"
HOSTILE = f"db down {OSC52}{CLEAR}{HTML}{HEADING}\n- fake item\n\u202eevil\x9b31m"


def _raw_controls(text: str) -> list[str]:
    return [c for c in text if (ord(c) < 32 and c not in "\n\t") or 0x7F <= ord(c) <= 0x9F]


def test_terminal_text_shows_controls_instead_of_sending_them():
    assert terminal_text(f"a{CLEAR}b\tc\nd\r\ne\rf") == "a\\x1b[2Jb\tc\nd\ne\\x0df"
    assert terminal_text(OSC52) == "\\x1b]52;c;Y3VybCBldmlsLnNoIHwgc2g=\\x07"
    assert terminal_text("\u202eabc\x9b") == "\\u202eabc\\x9b"


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("# Fake", "\\# Fake"),
        ("1. one", "1\\. one"),
        ("- item", "\\- item"),
        ("> quote", "\\> quote"),
        ("---", "\\---"),
        ("99.9% up", "99.9% up"),
        ("**bold** stays", "**bold** stays"),
        ("a\n# b", "a / # b"),
        ("<b>x</b> and `<kept>` and a < b", "&lt;b>x&lt;/b> and `<kept>` and a < b"),
    ],
)
def test_one_line_cannot_open_a_block_or_html(text, line):
    assert one_line(text) == line


def test_md_text_keeps_markdown_and_code_but_not_html():
    text = "## Ok\n\n<details>x</details>\n```\n<kept>\n```\n`<also>`"
    assert md_text(text) == "## Ok\n\n&lt;details>x&lt;/details>\n```\n<kept>\n```\n`<also>`"


def _hostile_incident(cli):
    r = cli("incident", "declare", "--title", HOSTILE, "--severity", "SEV2", "--service", HOSTILE)
    assert r.code == 0, r.err
    ref = "INC-0001"
    for args in (
        ("incident", "note", ref, HOSTILE),
        ("incident", "assign", ref, "--role", "commander", "--who", "mal\x1b[2Jlory"),
        # the narrative is Markdown by design (a heading there is the author's), but no HTML
        ("incident", "set", ref, "--summary", f"{OSC52}{HTML}", "--went-well", HOSTILE),
        ("incident", "set", ref, "--lucky", f"# lucky {HTML}", "--authors", HOSTILE),
        ("incident", "action", "add", ref, HOSTILE, "--type", "prevent", "--owner", HOSTILE),
        ("risk", "add", "--title", HOSTILE, "--likelihood", "3", "--impact", "4"),
    ):
        if args[0] == "risk":
            args = (*args, "--owner", HOSTILE, "--description", HOSTILE)
        r = cli(*args)
        assert r.code == 0, (args, r.err)
    return ref


def _assert_safe(doc: str, headings: list[str]):
    assert _raw_controls(doc) == []
    assert mdcheck.headings(doc) == headings
    mdcheck.check(doc)  # tables well formed
    html = mdcheck.parser().render(doc)
    assert "<script>" not in html and "</details>" not in html
    assert "<h1>Fake heading</h1>" not in html


POSTMORTEM_HEADINGS = [
    "Summary",
    "Impact",
    "ML impact",
    "Root causes and contributing factors",
    "Trigger",
    "Detection",
    "Resolution",
    "Milestones",
    "Timeline",
    "Runbook",
    "Action items",
    "Lessons learned",
    "What went well",
    "What went wrong",
    "Where we got lucky",
    "Supporting information",
    "Deploys",
    "Checks",
]


def test_a_hostile_incident_keeps_the_postmortem_whole(empty, cli):
    ref = _hostile_incident(cli)
    r = cli("postmortem", ref)
    assert r.code == 0, r.err
    doc = r.out
    heads = mdcheck.headings(doc)
    assert heads[0].startswith("Postmortem: db down")
    _assert_safe(doc, [heads[0], *POSTMORTEM_HEADINGS])
    assert "\\x1b]52;c;" in doc  # shown, so a reader sees what was stored


def test_a_hostile_risk_keeps_the_register_and_the_weekly_whole(empty, cli):
    _hostile_incident(cli)
    r = cli("risk", "export")
    assert r.code == 0, r.err
    heads = mdcheck.headings(r.out)
    assert heads[0] == "Risk register" and heads[-1].startswith("R-001: db down")
    _assert_safe(r.out, heads)
    assert len(heads) == len([h for h in heads if not h.startswith("Fake")])
    r = cli("report", "weekly")
    assert r.code == 0, r.err
    assert "Fake heading" not in mdcheck.headings(r.out)
    _assert_safe(r.out, mdcheck.headings(r.out))


def test_the_cli_never_prints_a_raw_escape_sequence(empty, cli):
    ref = _hostile_incident(cli)
    outputs = []
    for args in (
        ("incident", "show", ref),
        ("incident", "timeline", ref),
        ("incident", "list"),
        ("risk", "list"),
        ("risk", "show", "R-001"),
        ("postmortem", ref),
        ("incident", "note", f"INC-9{CLEAR}", "x"),  # an error echoing the input
    ):
        r = cli(*args)
        outputs.append((args, r.out + r.err))
    for args, text in outputs:
        assert _raw_controls(text) == [], (args, text)
