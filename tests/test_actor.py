"""Who is acting: --as, then $MLOPS_ONCALL_ACTOR, then `me:` in oncall.yaml, else the login
name; root is never taken silently, and a name that cannot be stored is refused up front."""

from __future__ import annotations

import getpass

import pytest

from mlops_oncall.config import configured_me, load_workspace
from mlops_oncall.formats.problems import ProblemsError


def _ws(tmp_path, extra: str = ""):
    cfg = tmp_path / "oncall.yaml"
    cfg.write_text(f"name: fraud\n{extra}")
    return cfg


@pytest.fixture
def no_env(monkeypatch):
    monkeypatch.delenv("MLOPS_ONCALL_ACTOR", raising=False)


def test_the_order_is_as_then_env_then_me_then_login(tmp_path, monkeypatch, no_env):
    monkeypatch.setattr(getpass, "getuser", lambda: "dana")
    ws = load_workspace(_ws(tmp_path, "me: carol\n"))
    assert ws.identity() == ("carol", "me:")
    monkeypatch.setenv("MLOPS_ONCALL_ACTOR", "erin")
    assert ws.identity() == ("erin", "MLOPS_ONCALL_ACTOR")
    ws.as_actor = "bob"
    assert ws.identity() == ("bob", "--as")
    monkeypatch.delenv("MLOPS_ONCALL_ACTOR")
    ws = load_workspace(_ws(tmp_path))
    assert ws.identity() == ("dana", "login") and ws.actor_warning() is None
    # the older key still works
    assert load_workspace(_ws(tmp_path, "actor: frank\n")).identity() == ("frank", "me:")


def test_root_is_used_but_said(tmp_path, monkeypatch, no_env):
    monkeypatch.setattr(getpass, "getuser", lambda: "root")
    ws = load_workspace(_ws(tmp_path))
    assert ws.actor() == "root"
    assert ws.actor_warning() == "you: root — set me: in oncall.yaml (or --as NAME)"
    # chosen explicitly, root is just a name
    assert load_workspace(_ws(tmp_path, "me: root\n")).actor_warning() is None


def test_no_login_name_is_not_a_crash(tmp_path, monkeypatch, no_env):
    def nobody():
        raise KeyError("getpwuid(): uid not found: 1234")

    monkeypatch.setattr(getpass, "getuser", nobody)
    name, source = load_workspace(_ws(tmp_path)).identity()
    assert source == "login" and name.startswith("uid-")


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ('""', "a name is needed"),
        ('"a\\x1b]52;c;aGk=\\x07b"', "control or format characters (found U+001B)"),
        ('"eve\\u202e"', "found U+202E"),
        ("x" * 101, "at most 100 characters"),
    ],
)
def test_a_bad_me_is_a_located_error(tmp_path, value, message):
    with pytest.raises(ProblemsError) as err:
        load_workspace(_ws(tmp_path, f"me: {value}\n"))
    shown = [str(p) for p in err.value.problems]
    assert len(shown) == 1 and ":2:" in shown[0] and "me" in shown[0] and message in shown[0]


def test_configured_me_is_quiet_about_a_broken_workspace(tmp_path):
    assert configured_me(_ws(tmp_path, "me: carol\n")) == "carol"
    assert configured_me(_ws(tmp_path, "me: carol\nbogus: 1\n")) is None
    assert configured_me(None) is None  # no oncall.yaml here


def test_as_is_recorded_as_the_actor(cli, tmp_path, monkeypatch):
    monkeypatch.setenv("MLOPS_ONCALL_DATABASE", str(tmp_path / "a.db"))
    r = cli("--as", "bob", "incident", "declare", "--title", "t", "--severity", "SEV3")
    assert r.code == 0, r.err
    r = cli("incident", "note", "INC-0001", "from the environment")  # $MLOPS_ONCALL_ACTOR
    assert r.code == 0, r.err
    events = cli("incident", "timeline", "INC-0001", "--json").json()
    actors = {e["kind"]: e["actor"] for e in events}
    assert actors["declared"] == "bob" and actors["note"] == "tester"


@pytest.mark.parametrize(
    ("args", "env", "expected"),
    [
        (["--as", ""], None, "error: --as: a name is needed, not an empty string"),
        (["--as", "a\x1bb"], None, "error: --as: a name cannot hold control or format"),
        ([], "x\x07", "error: MLOPS_ONCALL_ACTOR: a name cannot hold control or format"),
    ],
)
def test_a_bad_name_is_one_line_and_exit_2(cli, tmp_path, monkeypatch, args, env, expected):
    monkeypatch.setenv("MLOPS_ONCALL_DATABASE", str(tmp_path / "a.db"))
    if env is not None:
        monkeypatch.setenv("MLOPS_ONCALL_ACTOR", env)
    r = cli(*args, "incident", "declare", "--title", "t", "--severity", "SEV3")
    assert r.code == 2
    assert r.err.startswith(expected) and r.err.count("\n") == 1
    assert not (tmp_path / "a.db").exists()  # nothing was recorded


def test_the_login_name_by_default_in_a_real_process(cli_proc, tmp_path, no_env):
    env = {"LOGNAME": "dana", "MLOPS_ONCALL_DATABASE": str(tmp_path / "p.db")}
    r = cli_proc("incident", "declare", "--title", "t", "--severity", "SEV3", env=env)
    assert r.code == 0, r.err
    r = cli_proc("incident", "timeline", "INC-0001", "--json", env=env)
    assert {e["actor"] for e in r.json()} == {"dana"}


def test_the_demo_acts_as_a_persona_unless_told(tmp_path, no_env):
    from mlops_oncall.demo import DEMO_PERSONA, DemoPlan

    assert DemoPlan(calm=True, base=tmp_path).session.actor == DEMO_PERSONA == "demo-responder"
    assert DemoPlan(calm=True, base=tmp_path, me="carol").session.actor == "carol"
    assert DemoPlan(calm=True, base=tmp_path, me="carol", actor="bob").session.actor == "bob"


def test_init_says_where_to_set_who_you_are(cli, tmp_path, monkeypatch):
    assert cli("init", tmp_path / "team").code == 0
    text = (tmp_path / "team" / "oncall.yaml").read_text()
    assert "\n# me: " in text
    # uncommented, it is who acts
    cfg = tmp_path / "team" / "oncall.yaml"
    cfg.write_text(text.replace("# me: alice", "me: alice"))
    monkeypatch.delenv("MLOPS_ONCALL_ACTOR")
    assert load_workspace(cfg).identity() == ("alice", "me:")
