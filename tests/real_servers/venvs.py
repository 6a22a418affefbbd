"""The real ML servers the preset tests run against: pinned versions, each in its own venv.

Each server lives in ``$MLOPS_ONCALL_SERVER_CACHE/<name>-<version>`` (default
``~/.cache/mlops-oncall/servers``), built by ``python -m tests.real_servers.venvs`` (``.ci/run``
calls it) and reused while the pins stay the same. A venv counts only once its ``.complete``
marker is written, so an interrupted install is rebuilt rather than half-used.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Server:
    name: str
    version: str
    requirements: tuple[str, ...]

    @property
    def venv(self) -> Path:
        return cache_dir() / f"{self.name}-{self.version}"

    @property
    def python(self) -> Path:
        return self.venv / "bin" / "python"

    def bin(self, name: str) -> Path:
        return self.venv / "bin" / name

    @property
    def ready(self) -> bool:
        return (self.venv / ".complete").is_file()


SERVERS: dict[str, Server] = {
    s.name: s
    for s in (
        Server("mlserver", "1.7.1", ("mlserver==1.7.1",)),
        Server("mlflow", "3.17.2", ("mlflow==3.17.2",)),
        Server("bentoml", "1.4.40", ("bentoml==1.4.40",)),
        Server("kserve", "0.21.0", ("kserve==0.21.0",)),
        Server("ray", "2.60.0", ("ray[serve]==2.60.0",)),
        Server("feast", "0.67.0", ("feast==0.67.0",)),
    )
}


def cache_dir() -> Path:
    root = os.environ.get("MLOPS_ONCALL_SERVER_CACHE")
    return Path(root) if root else Path.home() / ".cache" / "mlops-oncall" / "servers"


def build(server: Server) -> float | None:
    """Create the venv unless it is complete; the seconds it took, or None if it was cached."""
    if server.ready:
        return None
    started = time.monotonic()
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(server.venv)], check=True)
    pip = [str(server.python), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    subprocess.run([*pip, *server.requirements], check=True)
    (server.venv / ".complete").write_text(" ".join(server.requirements) + "\n")
    return time.monotonic() - started


def main(argv: list[str]) -> int:
    names = argv or list(SERVERS)
    failed = []
    for name in names:
        server = SERVERS[name]
        try:
            took = build(server)
        except subprocess.CalledProcessError as exc:
            print(f"{name}-{server.version}: install failed ({exc})", flush=True)
            failed.append(name)
            continue
        shown = "cached" if took is None else f"installed in {took:.0f}s"
        print(f"{name}-{server.version}: {shown} ({server.venv})", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
