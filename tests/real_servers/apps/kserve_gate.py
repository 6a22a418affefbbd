"""A KServe model server (runs in KServe's venv): "iris" ready, "slow" healthy once GATE exists.

KServe registers only the models ready at start, so "slow" starts ready and reports itself not
healthy (a model reloading) through ``healthy()``, which is what the ready endpoints ask.
"""

import os

import uvicorn

_init = uvicorn.Config.__init__


def _loopback(self, app, *args, **kwargs):
    kwargs["host"] = "127.0.0.1"  # KServe 0.21 hard-codes 0.0.0.0; the tests listen on loopback
    _init(self, app, *args, **kwargs)


uvicorn.Config.__init__ = _loopback

from kserve import Model, ModelServer  # noqa: E402


class Echo(Model):
    def load(self) -> bool:
        self.ready = True
        return True

    def predict(self, payload, headers=None):
        return {"predictions": payload.get("instances", [])}


class Gated(Echo):
    async def healthy(self) -> bool:
        return os.path.exists(os.environ["GATE"])


if __name__ == "__main__":
    models = [Echo("iris"), Gated("slow")]
    for model in models:
        model.load()
    ModelServer().start(models)
