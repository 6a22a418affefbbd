"""An MLServer model (runs in MLServer's venv) that finishes loading once its gate file exists."""

import asyncio
import os

from mlserver import MLModel
from mlserver.codecs import NumpyCodec
from mlserver.types import InferenceRequest, InferenceResponse


class GatedModel(MLModel):
    async def load(self) -> bool:
        extra = (self.settings.parameters and self.settings.parameters.extra) or {}
        gate = extra.get("gate")
        while gate and not os.path.exists(gate):
            await asyncio.sleep(0.05)  # inside the server: holds this model "loading"
        return True

    async def predict(self, payload: InferenceRequest) -> InferenceResponse:
        data = NumpyCodec.decode_input(payload.inputs[0])
        return InferenceResponse(
            model_name=self.name, outputs=[NumpyCodec.encode_output("echo", data)]
        )
