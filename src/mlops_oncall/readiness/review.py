"""A completed review as a stable JSON document, kept as one file per review.

Reviews live in the workspace's ``readiness/`` folder (or the user data dir without a
workspace): ``readiness/<service>/<YYYYMMDDTHHMMSSZ>.json``. Files, not a table: a review is a
document the team reads, diffs and keeps beside its checklists, and tracking over time only
needs them listed in order. Every text in it is masked by the session's redactor before it is
written.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from mlops_oncall.formats.timestamps import rfc3339
from mlops_oncall.readiness import scoring
from mlops_oncall.readiness.evidence import Finding
from mlops_oncall.readiness.schema import Checklist

VERSION = 1
SERVICE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
_STAMP = "%Y%m%dT%H%M%SZ"


class ReviewError(ValueError):
    """A service name that cannot name a folder, or a review file that cannot be read."""


def check_service(service: str) -> str:
    if not SERVICE.match(service) or service in (".", ".."):
        raise ReviewError(
            f"expected a service name of letters, digits, '.', '_' or '-', got {service!r}"
        )
    return service


def build(
    checklist: Checklist,
    findings: list[Finding],
    *,
    service: str,
    at: datetime,
    actor: str,
    checklist_file: str,
    risks: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """The review document (docs/readiness.md, "The review file")."""
    cats = scoring.by_category(findings)
    return {
        "version": VERSION,
        "service": service,
        "at": rfc3339(at),
        "actor": actor,
        "checklist": {"id": checklist.id, "title": checklist.title, "file": checklist_file},
        "score": scoring.overall(findings).to_json(),
        "categories": [{"category": c, **s.to_json()} for c, s in cats.items()],
        "items": [_item(f) for f in findings],
        "gaps": [
            {
                "id": f.item.id,
                "title": f.item.title,
                "category": f.item.category,
                "weight": f.item.weight,
                "status": f.status or "unknown",
                "lost": scoring.lost(f),
            }
            for f in scoring.gaps(findings)
        ],
        "risks": [
            {
                "id": r["id"],
                "title": r["title"],
                "score": r["current"]["score"],
                "status": r["status"],
            }
            for r in risks or []
        ],
    }


def _item(f: Finding) -> dict[str, Any]:
    ev = f.item.evidence
    return {
        "id": f.item.id,
        "title": f.item.title,
        "category": f.item.category,
        "weight": f.item.weight,
        "evidence": {"kind": ev.kind, "target": ev.target},
        "status": f.status or "unknown",
        "prefilled": f.prefilled,
        "source": f.source,
        "detail": f.detail,
        "note": f.note,
        "output": f.output,
    }


@dataclass
class Reviews:
    """The kept reviews under ``root``, one folder per service, oldest first by name."""

    root: Path

    def save(self, review: dict[str, Any]) -> Path:
        """Write ``review`` as a new file: never over another one (two in one second get
        ``-2``, ``-3``), and complete or absent after a crash (a temporary file, then a link)."""
        folder = self.root / check_service(review["service"])
        folder.mkdir(parents=True, exist_ok=True)
        stamp = datetime.fromisoformat(review["at"].replace("Z", "+00:00")).strftime(_STAMP)
        data = (json.dumps(review, indent=2, ensure_ascii=False) + "\n").encode()
        tmp = folder / f".{stamp}.{os.getpid()}.tmp"
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        try:
            for n in range(1, 1000):
                path = folder / (f"{stamp}.json" if n == 1 else f"{stamp}-{n}.json")
                try:
                    os.link(tmp, path)  # fails if the name is taken: no review is overwritten
                except FileExistsError:
                    continue
                return path
            raise ReviewError(f"too many reviews of {review['service']} at {review['at']}")
        finally:
            tmp.unlink(missing_ok=True)

    def history(self, service: str) -> list[dict[str, Any]]:
        """Every kept review of ``service``, oldest first; an unreadable file is an error
        naming it (a review is never silently left out of the trend)."""
        folder = self.root / check_service(service)
        if not folder.is_dir():
            return []
        out = []
        for path in sorted(folder.glob("*.json"), key=_order):
            try:
                review = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError, ValueError) as exc:
                raise ReviewError(f"{path}: not a readable review ({exc})") from None
            if not isinstance(review, dict) or review.get("version") != VERSION:
                raise ReviewError(f"{path}: not a version {VERSION} review")
            review["file"] = str(path)
            out.append(review)
        return out

    def services(self) -> list[str]:
        """The services with a kept review, by name."""
        if not self.root.is_dir():
            return []
        return sorted(
            d.name
            for d in self.root.iterdir()
            if d.is_dir() and SERVICE.match(d.name) and any(d.glob("*.json"))
        )

    def latest(self, service: str) -> dict[str, Any] | None:
        kept = self.history(service)
        return kept[-1] if kept else None


def _order(path: Path) -> tuple[str, int]:
    stem, _, n = path.stem.partition("-")
    return stem, int(n) if n.isdigit() else 1


def summary(review: dict[str, Any]) -> dict[str, Any]:
    """One line of `readiness history --json`."""
    return {
        "at": review["at"],
        "actor": review["actor"],
        "checklist": review["checklist"]["id"],
        "percent": review["score"]["percent"],
        "categories": {c["category"]: c["percent"] for c in review["categories"]},
        "gaps": len(review["gaps"]),
        "file": review.get("file"),
    }
