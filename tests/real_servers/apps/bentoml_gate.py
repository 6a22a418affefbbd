"""A BentoML service (runs in BentoML's venv) whose readiness and liveness follow two files."""

import os

import bentoml


@bentoml.service
class Gated:
    def __is_ready__(self) -> bool:
        return os.path.exists(os.environ["READY_FILE"])

    def __is_alive__(self) -> bool:
        return not os.path.exists(os.environ["DEAD_FILE"])

    @bentoml.api
    def echo(self, text: str) -> str:
        return text
