"""The checks engine's redactor is the app's one redactor (``mlops_oncall.redact``).

Every text that leaves the checks engine (messages, errors, CLI output, JSON, repr) goes through
it, so a token taken from the environment, URL credentials and their Basic header value, and any
credential shape an endpoint answers with are never shown or stored.
"""

from __future__ import annotations

from mlops_oncall.redact import (
    MASK,
    MIN_SECRET_LENGTH,
    NULL,
    Redactor,
    basic_credentials,
    strip_userinfo,
    url_userinfo_secrets,
)

__all__ = [
    "MASK",
    "MIN_SECRET_LENGTH",
    "NULL",
    "Redactor",
    "basic_credentials",
    "strip_userinfo",
    "url_userinfo_secrets",
]
