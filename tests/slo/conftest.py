"""The checks tests' local HTTP servers, for the monitor's minute roll-ups end to end."""

from tests.checks.conftest import serve  # noqa: F401 - a fixture
