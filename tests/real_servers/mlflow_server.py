"""MLflow's tracking server (``mlflow server``) from its cached venv, for any test package."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from tests.real_servers.harness import Running, free_port, running, venv_or_skip

ENV = {"MLFLOW_DISABLE_TELEMETRY": "true", "DO_NOT_TRACK": "true"}


@contextlib.contextmanager
def tracking_server(root: Path) -> Iterator[tuple[str, Running]]:
    """The server on 127.0.0.1 with a SQLite backend store in ``root``: (base URL, process).
    Skips when the venv is not built."""
    server = venv_or_skip("mlflow")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    argv = [
        str(server.bin("mlflow")),
        "server",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        "1",
        "--backend-store-uri",
        f"sqlite:///{root / 'mlflow.db'}",
        "--default-artifact-root",
        str(root / "artifacts"),
    ]
    with running(
        "mlflow-tracking",
        argv,
        cwd=root,
        ready_url=f"{base}/health",
        ready=lambda s: s == 200,
        env=ENV,
    ) as proc:
        yield base, proc
