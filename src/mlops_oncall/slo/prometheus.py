"""SLOs whose events come from Prometheus: a query pair of bad (or good) and total events.

For every window W the SLO needs (each policy row's long and short windows, and the budget's
28 or 30 days) the evaluation asks Prometheus, at the evaluation time (the API's ``time``):

- a series selector ``S`` (a counter): ``sum(increase(S[W]))``, the events in the window;
- a query over ``{{.window}}`` (Sloth's form, a per-second rate such as
  ``sum(rate(x[{{.window}}]))``): ``sum(Q)`` with W in place, times W's seconds (Prometheus's
  ``increase`` is ``rate`` times the range, so both forms count the same events); with
  ``unit: events`` the query gives the events themselves (``count_over_time``, ``increase``).

With ``good:``, bad = total - good (never below 0). Then the arithmetic is the checks' SLOs'
(``slo.arithmetic``), on these counts. Whether the history reaches a window's start is asked
as the store's roll-ups answer it: does the total have a sample in the hour before that start
(``count(present_over_time(S[1h] offset W))``; a template is sampled as a subquery at 1m).

Queries go through the project's HTTP stack (httpx over the aiohttp transport), with a bound
on every answer and a timeout per query; ``checks.promql`` builds the request and reads the
answer, as for a prometheus check. Any error is the SLO's one line (``SloStatus.error``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any

from mlops_oncall.checks._httpx import httpx
from mlops_oncall.checks.conditions import Observation
from mlops_oncall.checks.decode import BodyDecodeError, BodyTooLarge
from mlops_oncall.checks.promql import query_request, read_answer
from mlops_oncall.slo import arithmetic as ar
from mlops_oncall.slo.arithmetic import Counts
from mlops_oncall.slo.config import WINDOW_TEMPLATE, PrometheusPair, Slo
from mlops_oncall.slo.evaluate import LOOKBEHIND, RowStatus, SloStatus

MAX_ANSWER = 256 * 1024  # a sum() is one series: anything much larger is not that answer
TIMEOUT_S = 10.0  # per query
CONCURRENT = 4  # queries in flight to one server
HISTORY_STEP = "1m"  # a template's history subquery resolution
ERROR = "error"  # the state of an SLO (and its rows) whose queries failed


class PromError(Exception):
    """A query that gave no number: why, in one line."""


def prom_duration(span: timedelta) -> str:
    """A Prometheus duration in its largest whole unit: 30d, 6h, 90m, 45s."""
    seconds = int(span.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def is_template(query: str) -> bool:
    return WINDOW_TEMPLATE.search(query) is not None


def events_query(query: str, window: timedelta) -> str:
    """The query of the events in ``window``: a count, or a per-second rate (a template)."""
    w = prom_duration(window)
    if is_template(query):
        return f"sum({WINDOW_TEMPLATE.sub(w, query)})"
    return f"sum(increase({query}[{w}]))"


def history_query(total: str, window: timedelta) -> str:
    """How many series of the total had a sample in the hour before ``window``'s start."""
    back, w = prom_duration(LOOKBEHIND), prom_duration(window)
    if is_template(total):
        inner = WINDOW_TEMPLATE.sub("5m", total)
        return f"count(present_over_time(({inner})[{back}:{HISTORY_STEP}] offset {w}))"
    return f"count(present_over_time({total}[{back}] offset {w}))"


class Client:
    """Instant queries to one Prometheus, bounded; use ``async with``."""

    def __init__(self, url: str):
        self.url = url
        self._transport: Any = None
        self._client: httpx.AsyncClient | None = None
        self._gate = asyncio.Semaphore(CONCURRENT)

    async def __aenter__(self) -> Client:
        from mlops_oncall.checks.transport import build_client, build_transport

        self._transport = build_transport(max_connections=CONCURRENT, max_body=MAX_ANSWER)
        self._client = build_client(self._transport)
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._client is not None:
            await self._client.aclose()  # and the transport under it
            self._client = None

    async def value(self, query: str, at: datetime) -> float:
        """The query's one number at ``at``; 0 when it gives no series (no such events)."""
        assert self._client is not None, "use Client in `async with`"
        url, headers, body = query_request(self.url, query, "POST", at.timestamp())
        async with self._gate:
            try:
                async with asyncio.timeout(TIMEOUT_S):
                    resp = await self._client.post(
                        url, content=body, headers=headers, timeout=TIMEOUT_S
                    )
            except TimeoutError:
                raise PromError(f"no answer from {self.url} within {TIMEOUT_S:.0f}s") from None
            except BodyTooLarge:
                raise PromError(f"an answer larger than {MAX_ANSWER // 1024} KiB") from None
            except (httpx.HTTPError, BodyDecodeError) as exc:
                reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                raise PromError(f"cannot reach {self.url}: {reason}") from None
        answer = read_answer(Observation(now=at, status=resp.status_code, body=resp.content))
        if answer.error_class is not None:
            raise PromError(f"{answer.error_class}: {answer.message}")
        if not answer.series:
            return 0.0
        if len(answer.series) > 1:
            raise PromError(f"{query} gave {len(answer.series)} series, expected one")
        value = answer.series[0][1]
        if value is None or not value.is_finite():
            raise PromError(f"{query} gave no number ({value})")
        return float(value)


def _count(value: float) -> float | int:
    """A whole count as an int (exact ranges), else Prometheus's extrapolated figure."""
    value = round(max(value, 0.0), 6)  # a rate times its window: 59.99999999 is 60
    return int(value) if value.is_integer() else round(value, 4)


class _Asker:
    """One SLO's queries at one time, each asked once."""

    def __init__(self, client: Client, pair: PrometheusPair, at: datetime):
        self.client, self.pair, self.at = client, pair, at

    async def events(self, query: str, window: timedelta) -> float:
        got = await self.client.value(events_query(query, window), self.at)
        per_second = is_template(query) and self.pair.unit == "per_second"
        return got * window.total_seconds() if per_second else got

    async def counts(self, window: timedelta) -> Counts:
        p = self.pair
        total = await self.events(p.total, window)
        if p.bad is not None:
            bad = await self.events(p.bad, window)
        else:
            bad = total - await self.events(p.good or "", window)
        return Counts(_count(total), _count(bad), 0)  # type: ignore[arg-type]

    async def reaches(self, window: timedelta) -> bool:
        return await self.client.value(history_query(self.pair.total, window), self.at) > 0


async def _all(coros: Iterable[Any]) -> list[Any]:
    """Every result, or the first error once all have ended (none left running against a
    client about to close)."""
    got = await asyncio.gather(*coros, return_exceptions=True)
    for item in got:
        if isinstance(item, BaseException):
            raise item
    return got


async def _one(client: Client, slo: Slo, at: datetime) -> SloStatus:
    assert slo.prometheus is not None
    ask = _Asker(client, slo.prometheus, at)
    spans = sorted({slo.window, *(w for r in slo.policy for w in (r.long, r.short))})
    longs = sorted({slo.window, *(r.long for r in slo.policy)})
    counted = await _all(ask.counts(w) for w in spans)
    reached = await _all(ask.reaches(w) for w in longs)
    counts = dict(zip(spans, counted, strict=True))
    reaches = dict(zip(longs, reached, strict=True))
    budget, window = slo.budget, counts[slo.window]
    if window.polls == 0:
        state = ar.NO_DATA
    elif not reaches[slo.window]:
        state = ar.INSUFFICIENT
    else:
        state = ar.OK
    remaining = ar.budget_remaining(window.down, window.polls, budget)
    rows = []
    for row in slo.policy:
        long, short = counts[row.long], counts[row.short]
        row_state = ar.row_state(
            long,
            short,
            rate=row.burn_rate,
            budget=budget,
            count_degraded=False,
            min_bad=slo.min_bad_events if row.severity == "page" else 1,
            enough_history=reaches[row.long],
        )
        rows.append(
            RowStatus(
                row,
                row_state,
                long,
                short,
                ar.burn_rate(long.down, long.polls, budget),
                ar.burn_rate(short.down, short.polls, budget),
            )
        )
    return SloStatus.of(slo, at, state, window, None, remaining, rows)


def failed(slo: Slo, at: datetime, message: str) -> SloStatus:
    """An SLO whose queries failed: its rows say ``error`` and nothing is computed."""
    empty = Counts()
    rows = tuple(RowStatus(r, ERROR, empty, empty, None, None) for r in slo.policy)
    return SloStatus(slo, at, ERROR, empty, None, None, rows, None, None, error=message)


async def _evaluate(slos: list[Slo], at: datetime, redact: Callable[[str], str]) -> list[SloStatus]:
    by_url: dict[str, list[Slo]] = {}
    for slo in slos:
        assert slo.prometheus is not None
        by_url.setdefault(slo.prometheus.url, []).append(slo)
    out: dict[str, SloStatus] = {}
    for url, group in by_url.items():
        async with Client(url) as client:
            results = await asyncio.gather(
                *(_one(client, s, at) for s in group), return_exceptions=True
            )
        for slo, got in zip(group, results, strict=True):
            if isinstance(got, PromError):
                out[slo.id] = failed(slo, at, redact(f"Prometheus at {url}: {got}"))
            elif isinstance(got, BaseException):
                raise got
            else:
                out[slo.id] = got
    return [out[s.id] for s in slos]


async def _consumed(pair: PrometheusPair, start: datetime, end: datetime) -> float:
    """The bad events in [start, end), asked at ``end``."""
    async with Client(pair.url) as client:
        return (await _Asker(client, pair, end).counts(max(end - start, MINUTE))).down


MINUTE = timedelta(minutes=1)


def _run(make: Callable[[], Any]) -> Any:
    """Run a coroutine to its end from synchronous code, in a thread of its own when this
    one already runs an event loop (a caller inside the TUI's loop)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(make())
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(lambda: asyncio.run(make())).result()


def evaluate(
    slos: Iterable[Slo], at: datetime, redact: Callable[[str], str] = str
) -> list[SloStatus]:
    """Every Prometheus SLO at ``at``; a failed query is that SLO's error, not an exception."""
    slos = list(slos)
    return _run(lambda: _evaluate(slos, at, redact)) if slos else []


def consumed_bad(slo: Slo, start: datetime, end: datetime) -> float:
    """The bad events of a Prometheus SLO in [start, end) (raises PromError)."""
    assert slo.prometheus is not None
    pair = slo.prometheus
    return _run(lambda: _consumed(pair, start, end))
