"""gpu-inference: GPU memory and utilisation, as an exporter built on nvidia-smi reports them."""

from __future__ import annotations

from mlops_oncall.drills.fake.httpd import Request, Response, json_response
from mlops_oncall.drills.fake.services.base import Handler, Service
from mlops_oncall.drills.fake.signals import walk

TOTAL_MIB = 40960  # one A100 40GB
BASE_USED = 0.60  # weights and a warm KV cache


class GpuInference(Service):
    name = "gpu-inference"

    def routes(self) -> dict[str, dict[str, Handler]]:
        return {"/gpu": {"GET": self.gpu}}

    def gpu(self, req: Request) -> Response:
        now = self.now()
        pressure = self.fault("gpu_memory")
        if pressure:
            share = pressure.params["percent"] / 100
        else:
            share = walk(self.ctx.seed, "gpu:memory", now, base=BASE_USED, sigma=0.01)
        used = round(TOTAL_MIB * min(1.0, max(0.0, share)))
        utilization = round(walk(self.ctx.seed, "gpu:util", now, base=45, sigma=3))
        return json_response(
            {
                "gpus": [
                    {
                        "index": 0,
                        "name": "NVIDIA A100-SXM4-40GB",
                        "memory_used_mib": used,
                        "memory_total_mib": TOTAL_MIB,
                        "utilization": min(100, max(0, utilization)),
                    }
                ],
                "memory_used_percent": round(used / TOTAL_MIB * 100, 1),
            }
        )
