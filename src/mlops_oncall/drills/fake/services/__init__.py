"""The fake services, one module per kind of server imitated."""

from __future__ import annotations

from mlops_oncall.drills.fake.catalog import SERVICES
from mlops_oncall.drills.fake.services.base import Context, Service
from mlops_oncall.drills.fake.services.data_quality import DataQuality
from mlops_oncall.drills.fake.services.gpu import GpuInference
from mlops_oncall.drills.fake.services.health_json import FeatureStore
from mlops_oncall.drills.fake.services.jobs import BatchScoring, TrainingPipeline
from mlops_oncall.drills.fake.services.mlflow import ModelRegistry
from mlops_oncall.drills.fake.services.oip import FraudScoring
from mlops_oncall.drills.fake.services.torchserve import Recommendations

_TYPES: dict[str, type[Service]] = {
    cls.name: cls
    for cls in (
        FraudScoring,
        Recommendations,
        FeatureStore,
        TrainingPipeline,
        DataQuality,
        GpuInference,
        BatchScoring,
        ModelRegistry,
    )
}
assert tuple(_TYPES) == SERVICES, "the catalogue and the service classes disagree"


def build_services(ctx: Context) -> dict[str, Service]:
    return {name: cls(ctx) for name, cls in _TYPES.items()}


__all__ = ["Context", "Service", "build_services"]
