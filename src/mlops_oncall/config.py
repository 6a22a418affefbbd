"""The workspace: ``oncall.yaml`` plus environment overrides and platformdirs defaults.

Nothing here runs at import time; ``load_workspace`` is called by the CLI per invocation.
"""

from __future__ import annotations

import getpass
import os
import re
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import ClassVar, Literal
from zoneinfo import ZoneInfo

from pydantic import Field, field_validator, model_validator

from mlops_oncall.formats.actors import ENV_ACTOR, actor_problem
from mlops_oncall.formats.durations import Duration
from mlops_oncall.formats.percent import Percent
from mlops_oncall.formats.problems import Problem, ProblemsError
from mlops_oncall.formats.validate import (
    FileModel,
    did_you_mean,
    new_dict,
    new_list,
    validate,
    zone_name,
)
from mlops_oncall.formats.yamlsrc import Document, load_file
from mlops_oncall.paths import user_data_dir

CONFIG_NAME = "oncall.yaml"
ENV_CONFIG = "MLOPS_ONCALL_CONFIG"
ENV_DATABASE = "MLOPS_ONCALL_DATABASE"

# What each severity means, shown where one is picked; `severities:` in oncall.yaml overrides
DEFAULT_SEVERITIES = {
    "SEV1": "Critical: a user-facing outage or data loss; everyone needed, now",
    "SEV2": "Major: a core feature degraded for many users (slow or wrong predictions)",
    "SEV3": "Minor: partial or internal impact, with a workaround",
    "SEV4": "Low: cosmetic or no user impact; handle in working hours",
}
SeverityName = Literal["SEV1", "SEV2", "SEV3", "SEV4"]

# `database:` may name environment variables (a password: ${env:PGPASS}); the password part of
# a URL (scheme://user:PASSWORD@...)
_ENV_REF = re.compile(r"\$\{env:([A-Za-z_][A-Za-z0-9_]*)\}")
_URL_PASSWORD = re.compile(r"^[A-Za-z][\w+.-]*://[^/@:]*:([^@/]*)@")


class ChangeFailureRateBands(FileModel):
    """RAG thresholds of the weekly report's change failure rate. The defaults follow the
    DORA 2024 report's clusters (dora.dev/research/2024/dora-report): high performers at
    20%, low performers at 40%."""

    amber_above: Percent = Field(default=0.20, description="AMBER above this share.")
    red_above: Percent = Field(default=0.40, description="RED above this share.")

    @model_validator(mode="after")
    def _ordered(self):
        if self.red_above < self.amber_above:
            raise ValueError("red_above must not be below amber_above")
        return self


class WeeklyConfig(FileModel):
    """The weekly status report."""

    change_failure_rate: ChangeFailureRateBands = Field(default_factory=ChangeFailureRateBands)


class FakeSystemConfig(FileModel):
    """Where `drill run` starts the fake ML system: services on port_base.. port_base+7, the
    control endpoint on port_base+8. 0 lets the OS pick (fine unless a responder's workspace
    checks must find it at a known address)."""

    host: str = "127.0.0.1"
    port_base: int = Field(default=0, ge=0, le=65526)


class _HttpService(FileModel):
    """A service this tool calls: an http(s) ``url`` and an optional ``token`` that only
    names an environment variable (the file is shared; the secret is not)."""

    _example: ClassVar[str] = "http://host:port"

    @field_validator("url", check_fields=False)
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not re.match(r"^https?://[^/\s]+", value):
            raise ValueError(f"expected an http:// or https:// URL, e.g. {cls._example}")
        return value.rstrip("/")

    @field_validator("token", check_fields=False)
    @classmethod
    def _token_from_env(cls, value: str | None) -> str | None:
        if value is not None and not _ENV_REF.fullmatch(value.strip()):
            raise ValueError("a token comes from the environment: write token: ${env:NAME}")
        return value.strip() if value is not None else None


class MlflowChanges(_HttpService):
    """An MLflow model registry, polled over its REST API: a new model version, a stage or an
    alias move is recorded as a `model` deploy of the mapped service (docs/changes.md)."""

    _example: ClassVar[str] = "http://mlflow:5000"

    url: str = Field(description="The tracking server's base URL, e.g. http://mlflow:5000.")
    token: str | None = Field(
        default=None, description="A bearer token, only as ${env:NAME} (sent, never stored)."
    )
    interval: Duration = Field(
        default=timedelta(seconds=60), description="How often `serve` polls the registry."
    )
    models: dict[str, str] = Field(
        min_length=1, description="Registered model name -> the service it is deployed as."
    )
    aliases: list[str] | None = Field(
        default=None, description="Only these aliases are followed (default: every alias)."
    )

    @field_validator("interval")
    @classmethod
    def _interval(cls, value: timedelta) -> timedelta:
        if value < timedelta(seconds=1):
            raise ValueError("expected at least 1s")
        return value

    @field_validator("models")
    @classmethod
    def _services(cls, value: dict[str, str]) -> dict[str, str]:
        for model, service in value.items():
            if not model.strip() or not service.strip():
                raise ValueError("each entry is a registered model name -> a service name")
        return value


class ChangesConfig(FileModel):
    """Change sources: what changed, collected by itself and recorded as deploys."""

    mlflow: MlflowChanges | None = Field(default=None, description="An MLflow model registry.")


# labels.severity -> an incident severity when no route sets one (docs/alerts.md)
DEFAULT_ALERT_SEVERITIES = {
    "critical": "SEV1",
    "page": "SEV2",
    "error": "SEV2",
    "warning": "SEV3",
    "info": "SEV4",
}


class AlertRoute(FileModel):
    """One route of `alerts:`: the first whose matchers all match an alert group decides."""

    name: str | None = Field(default=None, description="Shown in the inbox and the timeline.")
    matchers: list[str] = Field(
        default_factory=new_list,
        description='Label matchers in Alertmanager\'s syntax: name="v", name!="v", '
        'name=~"regex", name!~"regex" (regexes fully anchored); none matches every alert.',
    )
    severity: SeverityName | None = Field(
        default=None, description="The incident severity (default: from labels.severity)."
    )
    service: str | None = Field(default=None, description="The service (default: a label's).")
    service_label: str | None = Field(
        default=None, description="The label naming the service (default alerts.service_label)."
    )
    runbook: str | None = Field(default=None, description="A runbook id of the library.")
    declare: bool | None = Field(
        default=None,
        description="Declare an incident at once (true) or wait in the inbox (false); "
        "default alerts.declare.",
    )

    @field_validator("matchers")
    @classmethod
    def _matchers(cls, value: list[str]) -> list[str]:
        from mlops_oncall.formats.matchers import parse_matcher

        for text in value:
            parse_matcher(text)  # ValueError: the located problem
        return value


class AlertmanagerTarget(_HttpService):
    """Where silences are created (Alertmanager's API v2)."""

    _example: ClassVar[str] = "http://alertmanager:9093"

    url: str = Field(description="Alertmanager's base URL, e.g. http://alertmanager:9093.")
    token: str | None = Field(
        default=None, description="A bearer token, only as ${env:NAME} (sent, never stored)."
    )

    def token_value(self) -> str | None:
        """The token from its variable; ValueError naming the variable when it is unset."""
        if self.token is None:
            return None
        name = _ENV_REF.fullmatch(self.token).group(1)
        got = os.environ.get(name, "")
        if not got.strip():
            raise ValueError(
                f"alerts.alertmanager.token in {CONFIG_NAME} uses ${{env:{name}}}, which is not set"
            )
        return got


class AlertsConfig(FileModel):
    """Alertmanager's alerts (docs/alerts.md): routing, the inbox, resolution, silences."""

    routes: list[AlertRoute] = Field(default_factory=new_list, description="Tried in order.")
    declare: bool = Field(
        default=False,
        description="What a group no route matches does: declare at once, or wait in the inbox.",
    )
    service_label: str = Field(default="service", description="The label naming the service.")
    severities: dict[str, SeverityName] = Field(
        default_factory=lambda: dict(DEFAULT_ALERT_SEVERITIES),
        description="labels.severity value -> incident severity.",
    )
    default_severity: SeverityName = Field(
        default="SEV3", description="When neither a route nor labels.severity gives one."
    )
    resolve_closes: bool = Field(
        default=False,
        description="When every alert of a group has resolved, move its incident to mitigated "
        "(never resolved: an alert no longer firing is not proof of recovery).",
    )
    alertmanager: AlertmanagerTarget | None = Field(
        default=None, description="Alertmanager's API, for silences."
    )


class IntakeConfig(FileModel):
    """`mlops-oncall serve`, the intake daemon (docs/intake.md)."""

    token: str | None = Field(
        default=None,
        description="The bearer token every endpoint but /healthz wants, as ${env:NAME}; "
        "required to listen on anything but a loopback address.",
    )
    max_body: int = Field(
        default=1024 * 1024,
        ge=1024,
        le=64 * 1024 * 1024,
        description="The largest request body accepted, in bytes; larger ones get 413.",
    )

    @field_validator("token")
    @classmethod
    def _token_from_env(cls, value: str | None) -> str | None:
        # the file is shared and committed: the token itself lives in the environment only
        if value is not None and not _ENV_REF.fullmatch(value.strip()):
            raise ValueError("write the token as ${env:NAME} (a variable that holds it)")
        return value.strip() if value is not None else None

    def token_value(self) -> str | None:
        """The token from the variable ``token:`` names; None when no token is configured.
        ValueError (naming the variable, never a value) when it is unset or empty."""
        if self.token is None:
            return None
        name = _ENV_REF.fullmatch(self.token).group(1)
        got = os.environ.get(name, "")
        if not got.strip():
            raise ValueError(
                f"intake.token in {CONFIG_NAME} uses ${{env:{name}}}, which is not set"
            )
        return got


# How often a status update is due while an incident is open, per severity (docs/communication.md)
DEFAULT_UPDATE_EVERY = {"SEV1": timedelta(minutes=30), "SEV2": timedelta(minutes=60)}
# what each destination type needs, and which of its fields hold secrets (${env:NAME} only)
NOTIFY_REQUIRED = {
    "slack": ("url",),
    "statuspage": ("page_id", "key"),
    "webhook": ("url",),
    "smtp": ("host", "sender", "to"),
    "pagerduty": ("routing_key",),
}
NOTIFY_SECRETS = ("url", "key", "token", "password", "routing_key")
PAGERDUTY_EVENTS_URL = "https://events.pagerduty.com/v2/enqueue"


class NotifyDestination(FileModel):
    """One destination of status updates under `notify:` (docs/communication.md)."""

    type: Literal["slack", "statuspage", "webhook", "smtp", "pagerduty"] = Field(
        description="slack (incoming webhook), statuspage (Atlassian), webhook (JSON), smtp, "
        "pagerduty (Events API v2; notifications only)."
    )
    url: str | None = Field(
        default=None, description="slack, webhook: the URL, only as ${env:NAME}."
    )
    token: str | None = Field(
        default=None, description="webhook: a bearer token, only as ${env:NAME}."
    )
    page_id: str | None = Field(default=None, description="statuspage: the page's id.")
    key: str | None = Field(default=None, description="statuspage: the API key, as ${env:NAME}.")
    api: str = Field(
        default="https://api.statuspage.io", description="statuspage: the API's base URL."
    )
    components: dict[str, str] = Field(
        default_factory=new_dict,
        description="statuspage: service -> component id, set from the incident's service.",
    )
    host: str | None = Field(default=None, description="smtp: the server (or ${env:NAME}).")
    port: int = Field(default=587, ge=1, le=65535, description="smtp: the server's port.")
    starttls: bool = Field(default=True, description="smtp: upgrade with STARTTLS first.")
    username: str | None = Field(default=None, description="smtp: the login name, if any.")
    password: str | None = Field(default=None, description="smtp: the password, as ${env:NAME}.")
    sender: str | None = Field(default=None, description="smtp: the From address.")
    to: list[str] = Field(default_factory=new_list, description="smtp: the recipients.")
    routing_key: str | None = Field(
        default=None, description="pagerduty: the integration's routing key, as ${env:NAME}."
    )
    events_url: str = Field(
        default=PAGERDUTY_EVENTS_URL, description="pagerduty: the Events API v2 endpoint."
    )
    timeout: Duration = Field(
        default=timedelta(seconds=10), description="Time limit for one attempt."
    )
    retries: int = Field(
        default=3, ge=0, le=5, description="Retries after a 429 or 5xx (with backoff)."
    )

    @field_validator(*NOTIFY_SECRETS)
    @classmethod
    def _secret_from_env(cls, value: str | None) -> str | None:
        # the file is shared and committed: URLs with tokens in them and keys live in the env
        if value is not None and not _ENV_REF.fullmatch(value.strip()):
            raise ValueError("write it as ${env:NAME} (a variable that holds it)")
        return value.strip() if value is not None else None

    @field_validator("timeout")
    @classmethod
    def _timeout(cls, value: timedelta) -> timedelta:
        if not timedelta(0) < value <= timedelta(minutes=2):
            raise ValueError("expected a duration above 0 and at most 2m")
        return value

    @model_validator(mode="after")
    def _fields_of_type(self):
        missing = [f for f in NOTIFY_REQUIRED[self.type] if not getattr(self, f)]
        if missing:
            raise ValueError(f"type: {self.type} needs {', '.join(missing)}")
        return self

    def resolved(self, field: str, name: str) -> str | None:
        """A field's value with ${env:NAME} replaced; ValueError naming the variable (never
        a value) when it is unset."""
        value = getattr(self, field)
        if value is None:
            return None
        m = _ENV_REF.fullmatch(value)
        if not m:
            return value
        got = os.environ.get(m.group(1), "")
        if not got.strip():
            raise ValueError(
                f"notify.{name}.{field} in {CONFIG_NAME} uses ${{env:{m.group(1)}}}, "
                "which is not set"
            )
        return got.strip()


class NotifyRule(FileModel):
    """One rule under `notifications:`: which events go to which destinations
    (docs/communication.md, "Notifications and escalation")."""

    when: Literal["declared", "escalation", "unacknowledged", "slo_page"] = Field(
        description="declared (an incident at or above min_severity), escalation (a runbook's "
        "escalation deadline passed without mitigation), unacknowledged (an open incident not "
        "acknowledged `after` its declaration), slo_page (an SLO's page row started firing; "
        "PagerDuty is resolved when none fires)."
    )
    to: list[str] = Field(min_length=1, description="Destination names under notify:.")
    min_severity: SeverityName = Field(
        default="SEV4", description="declared, unacknowledged: the least severe incident sent."
    )
    after: Duration | None = Field(default=None, description="unacknowledged: how long.")
    slos: list[str] | None = Field(
        default=None,
        min_length=1,
        description="slo_page: only these SLO ids of slos.yaml (default: every SLO).",
    )

    @model_validator(mode="after")
    def _after(self):
        if self.slos is not None and self.when != "slo_page":
            raise ValueError(f"slos: is for when: slo_page, not {self.when}")
        if (self.when == "unacknowledged") != (self.after is not None):
            raise ValueError(
                "after: is needed with when: unacknowledged"
                if self.after is None
                else f"after: is for when: unacknowledged, not {self.when}"
            )
        return self


class Config(FileModel):
    """oncall.yaml. Every path is relative to the folder the file is in."""

    name: str | None = Field(default=None, description="Workspace name, shown in the header.")
    me: str | None = Field(
        default=None,
        description="Who you are: the actor recorded on everything you do. --as NAME and "
        "$MLOPS_ONCALL_ACTOR come first; without any of them, your login name.",
    )
    actor: str | None = Field(default=None, description="The older name of `me:`.")
    timezone: str = Field(default="UTC", description="IANA zone used to display times.")
    database: str | None = Field(
        default=None,
        description="SQLAlchemy URL; default sqlite:///oncall.db beside this file.",
    )
    witness: str | bool | None = Field(
        default=None,
        description="File the timeline heads are also appended to (tamper evidence); "
        "default <database>.witness beside a SQLite file; false (off) to disable.",
    )
    runbooks: list[str] = Field(
        default_factory=lambda: ["runbooks"], description="Folders of workspace runbooks."
    )
    checks: str = Field(default="checks.yaml", description="The health checks file.")
    slos: str = Field(default="slos.yaml", description="The SLOs file (docs/slo.md).")
    scenarios: str = Field(default="scenarios", description="Folder of drill scenarios.")
    templates: str = Field(default="templates", description="Folder of report template overrides.")
    postmortems: str = Field(default="postmortems", description="Where the TUI writes postmortems.")
    reports: str = Field(default="reports", description="Where the TUI writes reports.")
    allow_commands: bool = Field(
        default=False, description="Let the TUI run a step's command after confirmation."
    )
    command_timeout: Duration = Field(
        default=timedelta(seconds=60), description="Time limit for a command run from a step."
    )
    stale_after: Duration = Field(
        default=timedelta(days=180), description="A runbook validated longer ago is stale."
    )
    fake_system: FakeSystemConfig = Field(default_factory=FakeSystemConfig)
    weekly: WeeklyConfig = Field(default_factory=WeeklyConfig)
    intake: IntakeConfig = Field(default_factory=IntakeConfig)
    alerts: AlertsConfig = Field(default_factory=AlertsConfig)
    changes: ChangesConfig = Field(default_factory=ChangesConfig)
    notify: dict[str, NotifyDestination] = Field(
        default_factory=new_dict,
        description="Where status updates go: name -> destination (docs/communication.md).",
    )
    update_every: dict[SeverityName, Duration] = Field(
        default_factory=lambda: dict(DEFAULT_UPDATE_EVERY),
        description="How often a status update is due per severity while an incident is open "
        "(default SEV1 30m, SEV2 1h); this mapping replaces the default as a whole.",
    )
    notifications: list[NotifyRule] = Field(
        default_factory=new_list,
        description="Which events are sent where, through the notification queue "
        "(docs/communication.md).",
    )
    vars: dict[str, str | int | float] = Field(
        default_factory=new_dict,
        description="Values for runbook command placeholders, e.g. namespace: ml-serving "
        "fills {{ namespace }}. Names are lowercase letters, digits and '_'.",
    )
    severities: dict[SeverityName, str] = Field(
        default_factory=new_dict,
        description="What each severity means here (SEV1..SEV4 -> one line), shown when "
        "picking one; unset ones keep the defaults.",
    )
    keymap: dict[str, str] = Field(
        default_factory=new_dict,
        description="Remap TUI keys: binding id (see the help screen) -> keys, e.g. dashboard.declare: ctrl+d.",
    )

    @field_validator("notifications")
    @classmethod
    def _rule_targets(cls, value: list[NotifyRule], info) -> list[NotifyRule]:
        # notify: is validated first (declared before), so its names are known here
        dests = info.data.get("notify") or {}
        for i, rule in enumerate(value):
            for name in rule.to:
                dest = dests.get(name)
                if dest is None:
                    known = ", ".join(sorted(dests)) or "none"
                    raise ValueError(
                        f"rule {i + 1} sends to '{name}', which is not under notify: "
                        f"(known: {known})"
                    )
                if dest.type == "statuspage":
                    raise ValueError(
                        f"rule {i + 1} sends to '{name}', a statuspage: it takes status "
                        "updates only"
                    )
        return value

    @field_validator("vars")
    @classmethod
    def _var_names(cls, value: dict) -> dict:
        import re

        for name in value:
            if not re.match(r"^[a-z_][a-z0-9_]*$", name):
                raise ValueError(
                    f"'{name}' cannot be a placeholder name; use lowercase letters, digits and '_'"
                )
        return value

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        return zone_name(value)

    @field_validator("database")
    @classmethod
    def _no_clear_password(cls, value: str | None) -> str | None:
        # the file is shared, committed, shown: a password comes from the environment (a URL
        # of another scheme is refused, without the password, where the engine is made)
        match = _URL_PASSWORD.match(value or "")
        postgres = (value or "").startswith("postgres")
        if match and postgres and not _ENV_REF.fullmatch(match.group(1)):
            raise ValueError(
                "a password written in clear; write it as ${env:NAME} (a variable that "
                "holds it), or leave it out and let PGPASSWORD or ~/.pgpass supply it"
            )
        return value

    @field_validator("me", "actor")
    @classmethod
    def _name(cls, value: str | None) -> str | None:
        problem = actor_problem(value) if value is not None else None
        if problem:
            raise ValueError(problem)
        return value.strip() if value is not None else None


ACTOR_SOURCES = ("--as", ENV_ACTOR, "me:", "login")


def login_name() -> str:
    """The login name, as getpass finds it ($LOGNAME, $USER, ..., then the password database)."""
    try:
        return getpass.getuser()
    except Exception:  # no passwd entry (a container's arbitrary uid)
        return f"uid-{os.getuid()}" if hasattr(os, "getuid") else "unknown"


@dataclass
class Workspace:
    config: Config
    root: Path | None = None  # the folder of oncall.yaml; None when running on defaults
    config_file: Path | None = None
    as_actor: str | None = None  # --as NAME: beats everything else

    @property
    def name(self) -> str:
        if self.config.name:
            return self.config.name
        return self.root.name if self.root else "(no workspace)"

    def path(self, rel: str) -> Path | None:
        if self.root is None:
            return None
        p = Path(rel).expanduser()
        return p if p.is_absolute() else self.root / p

    def runbook_dirs(self) -> list[Path]:
        """The folders `runbooks:` names (the library reports one that is missing); the
        default ./runbooks only when it exists, since a workspace need not have one."""
        if self.root is None:
            return []
        dirs = [p for p in (self.path(r) for r in self.config.runbooks) if p is not None]
        if "runbooks" not in self.config.model_fields_set:
            dirs = [p for p in dirs if p.exists()]
        return dirs

    @property
    def checks_file(self) -> Path | None:
        return self.path(self.config.checks)

    @property
    def slos_file(self) -> Path | None:
        return self.path(self.config.slos)

    @property
    def scenarios_dir(self) -> Path | None:
        return self.path(self.config.scenarios)

    @property
    def templates_dir(self) -> Path | None:
        return self.path(self.config.templates)

    def database_url(self) -> str:
        env = os.environ.get(ENV_DATABASE)
        if env:
            return env if "://" in env else f"sqlite:///{env}"
        if self.config.database:
            url = _expand_env(self.config.database)
            if url.startswith("sqlite:///") and self.root is not None:
                rest = url[len("sqlite:///") :]
                if rest and not rest.startswith("/") and rest != ":memory:":
                    return f"sqlite:///{self.root / rest}"
            return url
        if self.root is not None:
            return f"sqlite:///{self.root / 'oncall.db'}"
        # the store never creates folders (a typo in database: must fail), so the default
        # location is made here, where it is chosen
        base = user_data_dir()
        base.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{base / 'oncall.db'}"

    def identity(self) -> tuple[str, str]:
        """(who is acting, where that came from: one of ACTOR_SOURCES). An explicit name wins:
        --as, then $MLOPS_ONCALL_ACTOR, then `me:`; else the login name."""
        if self.as_actor:
            return self.as_actor, "--as"
        env = os.environ.get(ENV_ACTOR, "").strip()
        if env and actor_problem(env) is None:  # a bad one is refused up front (cli, demo)
            return env, ENV_ACTOR
        me = self.config.me or self.config.actor
        if me:
            return me, "me:"
        return login_name(), "login"

    def actor(self) -> str:
        return self.identity()[0]

    def actor_warning(self) -> str | None:
        """Said wherever the actor is shown: root was not chosen, it is only who ran this."""
        name, source = self.identity()
        if source == "login" and name == "root":
            return f"you: root — set me: in {CONFIG_NAME} (or --as NAME)"
        return None

    def severities(self) -> dict[str, str]:
        """SEV1..SEV4, each with what it means in this workspace."""
        return {
            sev: (self.config.severities.get(sev) or "").strip() or default
            for sev, default in DEFAULT_SEVERITIES.items()
        }

    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.config.timezone)


def _expand_env(url: str) -> str:
    """``${env:NAME}`` in `database:` replaced by the variable's value; in the password part it
    is percent-encoded, so any character may be in it."""
    from urllib.parse import quote

    from mlops_oncall.store.errors import StoreError  # light: no SQLAlchemy

    password = _URL_PASSWORD.match(url)
    secret_at = password.span(1) if password else (-1, -1)

    def value(m: re.Match) -> str:
        got = os.environ.get(m.group(1))
        if got is None:
            raise StoreError(
                f"database: in {CONFIG_NAME} uses ${{env:{m.group(1)}}}, which is not set; "
                f"set it, or leave the password out and use PGPASSWORD or ~/.pgpass"
            )
        inside = secret_at[0] <= m.start() < secret_at[1]
        return quote(got, safe="") if inside else got

    return _ENV_REF.sub(value, url)


def find_config(explicit: str | Path | None) -> Path | None:
    if explicit:
        return Path(explicit)
    env = os.environ.get(ENV_CONFIG)
    if env:
        return Path(env)
    here = Path.cwd() / CONFIG_NAME
    return here if here.is_file() else None


def load_workspace(explicit: str | Path | None = None) -> Workspace:
    """The workspace named by --config, $MLOPS_ONCALL_CONFIG, ./oncall.yaml, or defaults.

    Raises ProblemsError (located) when the file is missing or invalid.
    """
    path = find_config(explicit)
    if path is None:
        return Workspace(config=Config())
    if not path.is_file():
        raise ProblemsError([Problem(str(path), 1, 1, "", "error", "workspace config not found")])
    doc = load_file(path)
    cfg = validate(Config, doc)
    if cfg is not None:
        _check_keymap(doc, cfg)
        _check_slo_rules(doc, cfg, path.resolve().parent)
    if cfg is None or not doc.ok:
        raise ProblemsError(doc.problems)
    return Workspace(config=cfg, root=path.resolve().parent, config_file=path)


def configured_me(explicit: str | Path | None = None) -> str | None:
    """`me:` of the workspace file, if there is one that loads (the demo runs without it, so a
    broken workspace must not stop the demo)."""
    try:
        ws = load_workspace(explicit)
    except ProblemsError:
        return None
    return ws.config.me or ws.config.actor


def _check_slo_rules(doc: Document, cfg: Config, root: Path) -> None:
    """A `when: slo_page` rule's `slos:` name SLO ids of slos.yaml (read for its ids only:
    slo/config.py validates the rest of it where the SLOs load)."""
    rules = [(i, r) for i, r in enumerate(cfg.notifications) if r.slos]
    if not rules:
        return
    path = Workspace(config=cfg, root=root).slos_file
    ids: list[str] = []
    if path is not None and path.is_file():
        data = load_file(path).data
        entries = data.get("slos") if isinstance(data, dict) else None
        ids = [
            e["id"] for e in entries or () if isinstance(e, dict) and isinstance(e.get("id"), str)
        ]
    for i, rule in rules:
        for j, slo in enumerate(rule.slos or ()):
            if slo not in ids:
                known = ", ".join(ids) if ids else f"none: no SLOs in {path or 'slos.yaml'}"
                doc.problems.append(
                    doc.error(
                        ("notifications", i, "slos", j),
                        f"unknown SLO '{slo}'{did_you_mean(slo, ids)} (known: {known})",
                    )
                )


def _check_keymap(doc: Document, cfg: Config) -> None:
    """Keymap entries name binding ids the TUI has: a typo used to remap nothing, silently.
    (A missing `runbooks:` folder is reported where the library loads, runbooks/library.py.)"""
    from mlops_oncall.bindings import BINDING_IDS

    known = sorted(BINDING_IDS)
    for binding in cfg.keymap:
        if binding not in BINDING_IDS:
            doc.problems.append(
                doc.error(
                    ("keymap", binding),
                    f"unknown binding id '{binding}'{did_you_mean(binding, known)}; "
                    f"the TUI's binding ids (also on its help screen, ?): {', '.join(known)}",
                    key=True,
                )
            )
