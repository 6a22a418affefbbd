"""Running the change sources: one poll of each (`changes poll --once`), or every source on
its interval until cancelled (`changes poll`, and `serve`, which calls ``run_sources``).

A failed poll is logged as one redacted line and retried with a backoff (1 s doubling, at most
the source's interval); it never ends the loop, so it never takes the daemon down.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC
from typing import Any

from mlops_oncall.changes import status
from mlops_oncall.changes.registry import RegistryError
from mlops_oncall.changes.source import MlflowSource, PollResult
from mlops_oncall.formats.errors import IncidentError
from mlops_oncall.formats.problems import ProblemsError

log = logging.getLogger("mlops_oncall.changes")
FIRST_RETRY = 1.0  # seconds; doubled per failure up to the source's interval


def _status_file(session: Any):
    return status.status_path(session.database)


async def poll_source(session: Any, source: MlflowSource, registry: Any) -> PollResult:
    """One poll, its outcome written to the status file. A poll that failed as a whole is a
    result with ``failed`` and its one redacted line in ``errors``, nothing recorded."""
    try:
        result = await source.poll(registry)
    except RegistryError as exc:
        now = source.deploys.clock.now().astimezone(UTC)
        message = session.redactor.text(f"{source.name}: {exc}")
        result = PollResult(source.name, source.url, now, errors=[message], failed=True)
    entry = {
        "at": result.at,
        "ok": result.ok,
        "recorded": len(result.recorded),
        "errors": result.errors,
    }
    await asyncio.to_thread(status.write, _status_file(session), source.name, entry)
    return result


async def poll_once(session: Any) -> list[PollResult]:
    """Every configured source polled once."""
    out: list[PollResult] = []
    for source in session.change_sources():
        async with source.registry() as registry:
            out.append(await poll_source(session, source, registry))
    return out


async def run_sources(session: Any, *, on_poll: Callable[[PollResult], None] | None = None) -> None:
    """Run every configured source until cancelled; return at once when none is configured
    (or `changes:` cannot be used: that is logged once, as one located line)."""
    try:
        sources = await asyncio.to_thread(session.change_sources)
    except (IncidentError, ProblemsError) as exc:
        log.error("changes: %s", session.redactor.text(str(exc).splitlines()[0]))
        return
    if not sources:
        return
    async with asyncio.TaskGroup() as group:
        for source in sources:
            group.create_task(_run(session, source, on_poll))


async def _run(session: Any, source: MlflowSource, on_poll) -> None:
    failures = 0
    async with source.registry() as registry:
        while True:
            try:
                got = await poll_source(session, source, registry)
            except Exception as exc:  # the store, a bug: retried like the registry, never fatal
                text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                now = source.deploys.clock.now().astimezone(UTC)
                message = session.redactor.text(f"{source.name}: {text}")
                got = PollResult(source.name, source.url, now, errors=[message], failed=True)
            if got.failed:
                failures += 1
                delay = min(source.interval, FIRST_RETRY * 2 ** (failures - 1))
                log.error("changes: %s (retrying in %.0fs)", got.errors[0], delay)
            else:
                failures = 0
                delay = source.interval
                for error in got.errors:
                    log.warning("changes: %s: %s", source.name, error)
            if on_poll is not None:
                on_poll(got)
            await asyncio.sleep(delay)
