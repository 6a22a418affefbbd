"""data-quality: per-feature drift (PSI) and null rates of the fraud model's inputs.

The top-level ``drift_score`` and ``null_rate`` are the worst feature's, which is what a
drift alert fires on. Each PSI wanders as a small seeded random walk; the ``drift`` fault
moves ``amount`` (and half as far ``merchant_category``) toward the target over ``over``.
"""

from __future__ import annotations

from mlops_oncall.drills.fake.httpd import Request, Response, json_response
from mlops_oncall.drills.fake.services.base import Handler, Service
from mlops_oncall.drills.fake.signals import iso, ramp, walk

# feature: (baseline PSI, baseline null rate, share of the drift fault's target it reaches)
FEATURES: dict[str, tuple[float, float, float]] = {
    "amount": (0.07, 0.0, 1.0),
    "merchant_category": (0.035, 0.002, 0.5),
    "hour_of_day": (0.02, 0.0, 0.0),
    "country": (0.045, 0.001, 0.0),
    "device_age_days": (0.015, 0.0015, 0.0),
}
NULLS_FEATURE = "merchant_category"  # the column an upstream schema change empties


class DataQuality(Service):
    name = "data-quality"

    def routes(self) -> dict[str, dict[str, Handler]]:
        return {"/metrics.json": {"GET": self.metrics}}

    def metrics(self, req: Request) -> Response:
        now = self.now()
        drift = self.fault("drift")
        nulls = self.fault("nulls")
        progress = ramp(drift.since, now, drift.params["over"]) if drift else 0.0
        features = {}
        for name, (psi_base, null_base, share) in FEATURES.items():
            psi = walk(self.ctx.seed, f"psi:{name}", now, base=psi_base, sigma=0.003)
            if drift and share:
                psi += (drift.params["score"] * share - psi_base) * progress
            null_rate = nulls.params["rate"] if nulls and name == NULLS_FEATURE else null_base
            features[name] = {"psi": round(max(0.0, psi), 4), "null_rate": null_rate}
        return json_response(
            {
                "drift_score": max(f["psi"] for f in features.values()),
                "null_rate": max(f["null_rate"] for f in features.values()),
                "features": features,
                "window": "1h",
                "computed_at": iso(now),
            }
        )
