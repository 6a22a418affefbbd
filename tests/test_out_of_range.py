"""Out-of-range input is one clear line and exit 1 or 2: huge durations in every file and
option, drill speeds that are not a positive finite number, argv that is not UTF-8, huge drill
ids, and click's own usage errors."""

from __future__ import annotations

import subprocess
import sys

import pytest

from mlops_oncall.formats.durations import MAX_DURATION, parse_duration
from tests.conftest import console_script

HUGE = ["99999999999999999999d", "1" * 400 + "w", "36501d", "3153600001s", "5300w"]


def assert_one_line(r, *needles: str) -> str:
    assert r.code in (1, 2), (r.code, r.out, r.err)
    lines = r.err.strip().splitlines()
    assert len(lines) == 1, r.err
    for banned in ("Traceback", "internal error", "Overflow"):
        assert banned not in r.err, r.err
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
    return lines[0]


@pytest.mark.parametrize("text", HUGE)
def test_parse_duration_is_bounded(text):
    with pytest.raises(ValueError, match=r"too long: at most 100 years"):
        parse_duration(text)


def test_parse_duration_keeps_the_largest_allowed():
    assert parse_duration("36500d") == MAX_DURATION
    assert parse_duration("5200w").days == 36400


@pytest.mark.parametrize("text", HUGE)
def test_huge_duration_in_oncall_yaml_is_located(cli, tmp_path, text):
    (tmp_path / "oncall.yaml").write_text(f"name: t\ncommand_timeout: {text}\n")
    r = cli("incident", "list")
    assert r.code == 2
    first = r.err.splitlines()[0]
    assert first.startswith(f"{tmp_path / 'oncall.yaml'}:2:18: command_timeout: ")
    assert "too long: at most 100 years" in first
    assert "Traceback" not in r.err and "internal error" not in r.err


def test_huge_duration_in_checks_yaml_is_located(cli, tmp_path):
    (tmp_path / "checks.yaml").write_text(
        "checks:\n  - id: a\n    url: http://127.0.0.1:9/\n    interval: 99999999999999999999w\n"
    )
    r = cli("check", "validate", "--checks", str(tmp_path / "checks.yaml"))
    assert r.code == 1
    assert "checks.yaml:4:15: checks[0].interval: duration '99999999999999999999w' is too long" in (
        r.out + r.err
    )
    assert "internal error" not in r.err


def test_huge_duration_in_a_runbook_is_located(cli, tmp_path):
    rb = tmp_path / "rb.yaml"
    rb.write_text(
        "id: huge\ntitle: Huge\ncategory: serving\nseverity: SEV2\nowner: me\n"
        "meaning: m\nimpact: i\n"
        "escalation: {after: 99999999999999999999d, to: someone}\n"
        "steps:\n  - {id: one, title: One, kind: diagnose, instructions: x}\n"
    )
    r = cli("runbook", "validate", str(rb))
    assert r.code in (1, 2)
    assert "too long: at most 100 years" in r.out + r.err
    assert "internal error" not in r.err and "Traceback" not in r.err


def test_huge_duration_in_a_scenario_is_located(cli, tmp_path):
    sc = tmp_path / "huge.yaml"
    sc.write_text(
        "id: huge\ntitle: Huge\nrunbook: model-latency-spike\n"
        "injects:\n  - {at: 99999999999999999999d, type: message, text: hi}\n"
    )
    r = cli("drill", "run", "--no-ui", str(sc))
    assert r.code == 2
    assert f"{sc}:5:10: injects[0].at: duration '99999999999999999999d' is too long" in r.err
    assert "internal error" not in r.err


@pytest.mark.parametrize(
    "args",
    [
        ("check", "watch", "--for", "99999999999999999999d"),
        ("check", "watch", "--rollup-every", "1" * 400 + "s"),
        ("incident", "metrics", "--since", "99999999999999999999d"),
        ("report", "weekly", "--since", "99999999999999999999d"),
    ],
)
def test_huge_duration_options(cli, args):
    assert_one_line(cli(*args))


@pytest.mark.parametrize("speed", ["inf", "-inf", "nan", "0", "-1", "1e308", "0.001"])
def test_drill_speed_must_be_positive_and_finite(cli, speed):
    line = assert_one_line(cli("drill", "run", "--no-ui", "--speed", speed, "gpu-oom"), "--speed")
    assert "0.01 to 10000" in line


def test_drill_speed_that_is_not_a_number_is_one_line(cli):
    line = assert_one_line(cli("drill", "run", "--speed", "fast", "gpu-oom"), "'--speed'")
    assert "mlops-oncall drill run --help" in line


def test_usage_errors_are_one_line(cli):
    assert_one_line(cli("nosuch"), "No such command")
    assert_one_line(cli("incident", "declare"), "Missing option '--title'")


@pytest.mark.parametrize(
    "ref", ["DRILL-99999999999999999999999", "DRILL-9223372036854775808", "DRILL-²", "9" * 5000]
)
def test_huge_drill_ids_are_unknown(cli, ref):
    for args in (("drill", "control", ref), ("drill", "debrief", ref)):
        assert_one_line(cli(*args), "unknown drill")


def _run_bytes(*args: bytes):
    from tests.conftest import Result

    p = subprocess.run(
        [console_script().encode(), *args], capture_output=True, timeout=60, check=False
    )
    return Result(p.returncode, p.stdout.decode(), p.stderr.decode("utf-8", "replace"))


@pytest.mark.skipif(sys.platform == "win32", reason="argv is bytes on POSIX only")
@pytest.mark.parametrize(
    "args",
    [
        (b"incident", b"declare", b"--title", b"caf\xe9 down", b"--severity", b"SEV2"),
        (b"--config", b"/tmp/\xff\xfe.yaml", b"incident", b"list"),
        (b"runbook", b"search", b"\xc3\x28"),
    ],
)
def test_non_utf8_argv_is_refused(args):
    r = _run_bytes(*args)
    line = assert_one_line(r, "is not valid UTF-8")
    assert "\\x" in line  # the bad bytes are shown escaped, not as mojibake
    assert r.code == 2
