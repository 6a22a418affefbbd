"""The risk register: sortable by score, overdue reviews highlighted; candidate risks from a
postmortem ("where we got lucky", open prevent items) accepted with one key."""

from __future__ import annotations

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import DataTable, Header, Label, OptionList, Static
from textual.widgets.option_list import Option

from mlops_oncall.formats.words import plural
from mlops_oncall.ui.modals import Dialog
from mlops_oncall.ui.oncall import oncall
from mlops_oncall.ui.widgets.banner import DrillBanner
from mlops_oncall.ui.widgets.lean_footer import LeanFooter
from mlops_oncall.ui.widgets.lean_table import LeanTable

BAND_STYLE = {
    "critical": "bold white on red",
    "high": "bold red",
    "medium": "yellow",
    "low": "green",
}
SORTS = ("score", "next review", "id")


def register_title(count: int, overdue: int, sort: str) -> str:
    return (
        f"Risk register · {plural(count, 'risk')} · {plural(overdue, 'review')} overdue"
        f" · sorted by {sort}"
    )


class RiskScreen(Screen):
    BINDINGS = [
        Binding("escape", "back", "Back", id="risks.back"),
        Binding("o", "sort", "Sort", id="risks.sort"),
        Binding("ctrl+e", "export", "Export", id="risks.export"),
        Binding("v", "review", "Review", id="risks.review"),
    ]

    def __init__(self):
        super().__init__()
        self.sort = "score"
        self.rows: list[dict] = []

    def compose(self) -> ComposeResult:
        yield Header()
        yield DrillBanner()
        with Horizontal(id="risks-body"):
            with Vertical(id="risks-pane", classes="panel") as p:
                p.border_title = "Risk register"
                yield LeanTable(id="risks-table", cursor_type="row")
            with Vertical(id="risk-detail-pane", classes="panel") as d:
                d.border_title = "Risk"
                yield Static("", id="risk-detail")
        yield LeanFooter()

    def on_mount(self) -> None:
        t = self.query_one("#risks-table", DataTable)
        for key, label in (
            ("id", "ID"),
            ("score", "Score"),
            ("li", "L×I"),
            ("title", "Risk"),
            ("owner", "Owner"),
            ("review", "Next review"),
            ("status", "Status"),
        ):
            t.add_column(label, key=key)
        t.focus()
        self.load()

    @work(thread=True, exclusive=True, group="risks-load")
    def load(self) -> None:
        rows = oncall(self).session.risks.list()
        self.app.call_from_thread(self._show, rows)

    def _show(self, rows) -> None:
        self.rows = rows
        key = {
            # the current score: the residual once a review assessed it, else the inherent
            "score": lambda r: (-r["current"]["score"], r["id"]),
            "next review": lambda r: (r["next_review"] or "9999", -r["current"]["score"]),
            "id": lambda r: r["id"],
        }[self.sort]
        t = self.query_one("#risks-table", DataTable)
        t.clear()
        for r in sorted(rows, key=key):
            cur = r["current"]
            score = Text(
                f" {cur['score']:>2} {cur['band']} ", style=BAND_STYLE.get(cur["band"], "")
            )
            review = Text(str(r["next_review"] or "–"), style="bold red" if r["overdue"] else "")
            if r["overdue"]:
                review.append(" overdue", style="bold red")
            t.add_row(
                r["id"],
                score,
                f"{r['likelihood']}×{r['impact']}",
                r["title"],
                r["owner"],
                review,
                r["status"],
                key=r["id"],
            )
        overdue = sum(r["overdue"] for r in rows)
        self.query_one("#risks-pane").border_title = register_title(len(rows), overdue, self.sort)
        if rows:
            self._detail(t.coordinate_to_cell_key(t.cursor_coordinate).row_key.value)
        else:
            self.query_one("#risk-detail", Static).update(
                Text(
                    "No risks yet: accept the candidates a postmortem offers (ctrl+k there).",
                    style="dim",
                )
            )

    @on(DataTable.RowHighlighted, "#risks-table")
    def _highlight(self, event: DataTable.RowHighlighted) -> None:
        if event.row_key is not None and event.row_key.value:
            self._detail(event.row_key.value)

    def _detail(self, rid: str) -> None:
        r = next((x for x in self.rows if x["id"] == rid), None)
        if r is None:
            return
        t = Text()
        t.append(f"{r['id']}  {r['title']}\n", style="bold")
        t.append(
            f"{r['category']} · {r['treatment']} · owner {r['owner']} · {r['status']}\n\n",
            style="dim",
        )
        for label, key in (
            ("Description", "description"),
            ("Mitigation", "mitigation"),
            ("Contingency", "contingency"),
            ("Early warning", "early_warning"),
        ):
            if r.get(key):
                t.append(f"{label}: ", style="bold")
                t.append(f"{r[key]}\n")
        cur = r["current"]
        t.append(f"\nScore {cur['score']} ({cur['band']})", style="bold")
        if r.get("change"):
            t.append(f", {r['change']:+d} since the last review")
        if r.get("residual"):  # the score shown is the residual; the inherent stays beside it
            t.append(f"; inherent {r['score']} ({r['band']})")
        t.append(
            f"\nIdentified {r['identified_on']} · last reviewed {r['last_reviewed'] or '–'} · next {r['next_review'] or '–'}\n"
        )
        links = r.get("links") or {}
        if links.get("incidents") or links.get("runbooks"):
            t.append(
                f"Links: {', '.join(links.get('incidents', []) + links.get('runbooks', []))}\n"
            )
        self.query_one("#risk-detail", Static).update(t)

    def action_sort(self) -> None:
        self.sort = SORTS[(SORTS.index(self.sort) + 1) % len(SORTS)]
        self._show(self.rows)

    def action_export(self) -> None:
        self._export()

    @work(thread=True, group="risks-export")
    def _export(self) -> None:
        from mlops_oncall.incidents.service import IncidentError
        from mlops_oncall.paths import user_data_dir
        from mlops_oncall.reports.register import render_register
        from mlops_oncall.ui.exports import export_document

        s = oncall(self).session
        ws = s.workspace
        folder = ws.path(ws.config.reports) or (user_data_dir() / "reports")
        path = folder / f"risks-{s.clock.now():%Y-%m-%d}.md"
        try:
            text = render_register(
                s.risks,
                sources=s.sources(),
                clock=s.clock,
                templates_dir=ws.templates_dir,
            )
        except IncidentError as exc:  # a broken workspace template: say so, keep the screen
            self.app.call_from_thread(self.notify, str(exc), severity="error", timeout=10)
            return
        written = export_document(self, s, path, text)
        if written is not None:
            self.app.call_from_thread(self.notify, f"Wrote {written}")

    def action_review(self) -> None:
        """Likelihood and impact again, with a note: the score history keeps the change."""
        from mlops_oncall.ui.modals import RiskReviewModal

        t = self.query_one("#risks-table", DataTable)
        if not self.rows or not t.row_count:
            self.notify("No risk to review yet")
            return
        rid = t.coordinate_to_cell_key(t.cursor_coordinate).row_key.value
        risk = next(r for r in self.rows if r["id"] == rid)
        s = oncall(self).session

        def submit(likelihood, impact, note, next_review):
            return s.risks.review(rid, likelihood, impact, note=note, next_review=next_review)

        def done(result) -> None:
            if result:
                self.notify(f"{rid} reviewed")
                self.load()

        today = s.clock.now().astimezone(s.workspace.zone()).date()
        self.app.push_screen(RiskReviewModal(risk, submit, today=today), done)

    def action_back(self) -> None:
        self.app.pop_screen()


class CandidateRisksModal(Dialog):
    """After a postmortem: each "lucky" line and open prevent item, offered as a risk."""

    def __init__(self, incident_id: str):
        super().__init__()
        self.incident_id = incident_id
        self.items: list[dict] = []

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="candidates-dialog"):
            yield Label(f"Candidate risks from {self.incident_id}", classes="dialog-title")
            yield Static(
                Text("Enter accepts one: it becomes a risk linked to the incident.", style="dim")
            )
            yield OptionList(id="candidates")

    def on_mount(self) -> None:
        self.load()

    @work(thread=True, exclusive=True, group="candidates")
    def load(self) -> None:
        from mlops_oncall.reports.candidates import candidates

        s = oncall(self).session
        view = s.incidents.get(self.incident_id)
        items = candidates(view, s.risks.linked_to(view.id))
        self.app.call_from_thread(self._show, items)

    def _show(self, items) -> None:
        self.items = items
        ol = self.query_one("#candidates", OptionList)
        ol.clear_options()
        if not items:
            ol.add_option(
                Option(
                    Text(
                        "None: write 'where we got lucky' or add a prevent action item first.",
                        style="dim",
                    ),
                    id="",
                )
            )
        for c in items:
            label = Text()
            label.append(c["title"], style="bold")
            label.append(
                f"\n  from {c['source'].replace('_', ' ')} · {c['category']} · L{c['likelihood']}×I{c['impact']}",
                style="dim",
            )
            if c["existing"]:
                label.append(f" · already {c['existing']}", style="green")
            ol.add_option(Option(label, id=c["key"], disabled=bool(c["existing"])))
        ol.focus()

    @on(OptionList.OptionSelected, "#candidates")
    def _accept(self, event: OptionList.OptionSelected) -> None:
        key = event.option.id
        if not key:
            return
        cand = next(c for c in self.items if c["key"] == key)
        s = oncall(self).session

        def accept():
            from mlops_oncall.reports.candidates import accept as accept_candidate

            return accept_candidate(
                s.risks,
                s.incidents.get(self.incident_id),
                key,
                owner=cand["owner"] or s.actor,
            )

        oncall(self).run_core(f"accept {key}", accept, after=self.load)
