"""Writing to MLflow's registry through its REST API, as a team's training pipeline does."""

from __future__ import annotations

import json
import urllib.request
from datetime import UTC, datetime

API = "/api/2.0/mlflow"


class RegistryWriter:
    def __init__(self, base: str, model: str):
        self.base, self.model = base, model

    def _post(self, endpoint: str, body: dict) -> dict:
        req = urllib.request.Request(
            f"{self.base}{API}/{endpoint}",
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(req, timeout=30) as resp:
            return json.loads(resp.read() or b"{}")

    def create(self) -> None:
        self._post("registered-models/create", {"name": self.model})

    def version(self) -> tuple[int, datetime]:
        """A new version (its source an S3 path: a local one needs a run), and when."""
        mv = self._post("model-versions/create", {"name": self.model, "source": "s3://b/m"})
        mv = mv["model_version"]
        return int(mv["version"]), datetime.fromtimestamp(mv["creation_timestamp"] / 1000, UTC)

    def alias(self, alias: str, version: int) -> None:
        self._post(
            "registered-models/alias",
            {"name": self.model, "alias": alias, "version": str(version)},
        )

    def stage(self, version: int, stage: str) -> datetime:
        mv = self._post(
            "model-versions/transition-stage",
            {
                "name": self.model,
                "version": str(version),
                "stage": stage,
                "archive_existing_versions": False,
            },
        )["model_version"]
        return datetime.fromtimestamp(mv["last_updated_timestamp"] / 1000, UTC)
