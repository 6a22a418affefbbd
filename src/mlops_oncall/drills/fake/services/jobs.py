"""training-pipeline and batch-scoring: nightly jobs that report when they last finished.

Normally the last run is the latest nightly slot; the ``stale`` fault pins it to ``age`` before
the moment of injection, so it keeps ageing as (virtual) time passes, like a stuck scheduler.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from mlops_oncall.drills.fake.httpd import Request, Response, json_response
from mlops_oncall.drills.fake.services.base import Handler, Service
from mlops_oncall.drills.fake.signals import iso, last_daily, seeded_int


class NightlyJob(Service):
    finishes_at: tuple[int, int, int]  # UTC hh, mm, ss of the nightly finish

    def last_finished(self) -> datetime:
        stale = self.fault("stale")
        if stale and stale.since is not None:
            return stale.since - timedelta(seconds=stale.params["age"])
        return last_daily(self.now(), *self.finishes_at)


class TrainingPipeline(NightlyJob):
    name = "training-pipeline"
    finishes_at = (2, 47, 13)

    def routes(self) -> dict[str, dict[str, Handler]]:
        return {"/status": {"GET": self.status}}

    def status(self, req: Request) -> Response:
        return json_response(
            {
                "pipeline": "nightly_training",
                "last_success": iso(self.last_finished()),
                "last_run_state": "success",
            }
        )


class BatchScoring(NightlyJob):
    name = "batch-scoring"
    finishes_at = (4, 12, 0)

    def routes(self) -> dict[str, dict[str, Handler]]:
        return {"/jobs/latest": {"GET": self.latest}}

    def latest(self, req: Request) -> Response:
        finished = self.last_finished()
        rows = seeded_int(self.ctx.seed, f"batch-rows:{finished.date()}", 1_150_000, 1_300_000)
        return json_response(
            {
                "job": "nightly-batch-scoring",
                "state": "succeeded",
                "finished_at": iso(finished),
                "rows": rows,
            }
        )
