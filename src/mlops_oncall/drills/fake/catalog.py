"""What the fake ML system contains: its services, its faults, and which fault fits which service.

One table, so the control endpoint, the Python API, drills and the docs agree on it.
"""

from __future__ import annotations

SERVICES: tuple[str, ...] = (
    "fraud-scoring",  # Open Inference Protocol v2 model server (MLServer / Triton / KServe)
    "recommendations",  # TorchServe
    "feature-store",  # application/health+json
    "training-pipeline",  # nightly training, last-success time
    "data-quality",  # drift score and null rate
    "gpu-inference",  # GPU memory
    "batch-scoring",  # nightly batch job
    "model-registry",  # MLflow
)

FAULTS: tuple[str, ...] = (
    "latency",
    "errors",
    "not_ready",
    "stale",
    "drift",
    "nulls",
    "gpu_memory",
    "refuse",
)

# Every service can be slow, fail or vanish; the rest only where the real system has that signal.
GENERIC_FAULTS: tuple[str, ...] = ("latency", "errors", "refuse")
SPECIFIC_FAULTS: dict[str, tuple[str, ...]] = {
    "fraud-scoring": ("not_ready",),
    "recommendations": ("not_ready",),
    "feature-store": ("not_ready", "stale"),
    "training-pipeline": ("stale",),
    "data-quality": ("drift", "nulls"),
    "gpu-inference": ("gpu_memory",),
    "batch-scoring": ("stale",),
    "model-registry": ("not_ready", "stale"),
}

CONTROL = "control"
"""The key of the control listener in a ``ports`` mapping."""


def faults_for(service: str) -> tuple[str, ...]:
    """The faults a service accepts, in catalogue order."""
    wanted = set(GENERIC_FAULTS) | set(SPECIFIC_FAULTS[service])
    return tuple(f for f in FAULTS if f in wanted)


def ports_from_base(base: int) -> dict[str, int]:
    """Consecutive ports: the services in catalogue order from ``base``, then the control port.

    ``base`` 0 means every port is chosen by the OS.
    """
    if base == 0:
        return {}
    if not 1 <= base <= 65535 - len(SERVICES):
        raise ValueError(f"port base must be from 1 to {65535 - len(SERVICES)}, got {base}")
    ports = {name: base + i for i, name in enumerate(SERVICES)}
    ports[CONTROL] = base + len(SERVICES)
    return ports
