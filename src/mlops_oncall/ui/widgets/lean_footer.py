"""The footer: a screen's most important keys first, as many as fit, and `?` for the rest.

Every binding has a rank (by its id): 0 for what a responder does on that screen most (declare,
note, ack, done, back), 1 for the screen's other keys, 2 for the keys every screen shares
(runbooks, risks, quit). Keys are shown by rank, then in the order the screen declares them,
while they fit on one line; `?` is always shown, and says "More" when some were left out.
The help screen lists every key, shown here or not.
"""

from __future__ import annotations

from rich.cells import cell_len
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Footer
from textual.widgets._footer import FooterKey

HELP = "app.help"
ESSENTIAL = frozenset(
    (
        "dashboard.declare",
        "dashboard.focus_incidents",
        "dashboard.alerts",
        "alerts.back",
        "alerts.declare",
        "silence.submit",
        "incident.back",
        "incident.note",
        "incident.ack",
        "incident.mitigate",
        "incident.resolve",
        "incident.triage",
        "triage.back",
        "triage.done",
        "triage.skip",
        "triage.failed",
        "triage.execute",
        "runbooks.back",
        "runbooks.search",
        "postmortem.back",
        "postmortem.save",
        "postmortem.export",
        "risks.back",
        "debrief.back",
        "dialog.cancel",
        "declare.submit",
        "confirm.yes",
        "help.close",
    )
)
# offered only while they apply (some runbooks refused, a fake ML system to break), so they
# outrank the other shared keys
RAISED_SHARED = frozenset(("app.refused_runbooks", "app.inject_fault"))


def rank(binding: Binding) -> int:
    """0: the screen's main keys; 1: its others; 2: the keys every screen shares."""
    bid = binding.id or ""
    if bid in ESSENTIAL:
        return 0
    if bid.startswith("app.") and bid not in RAISED_SHARED:
        return 2
    return 1


def key_width(key_display: str, description: str) -> int:
    """Cells a FooterKey takes in the footer's normal (not compact) style: the key padded one
    cell each side, the description followed by one cell."""
    return cell_len(key_display) + 2 + (cell_len(description) + 1 if description else 0)


def fit(entries: list[tuple[Binding, str, str]], width: int) -> tuple[list[int], bool]:
    """Indexes of ``entries`` (binding, key display, description) to show in ``width`` cells,
    in the order to show them, and whether some were left out. The help key is kept last."""
    help_at = next((i for i, (b, _, _) in enumerate(entries) if b.id == HELP), None)
    room = width
    if help_at is not None:
        room -= key_width(entries[help_at][1], "More")
    order = sorted(
        (i for i in range(len(entries)) if i != help_at), key=lambda i: (rank(entries[i][0]), i)
    )
    shown: list[int] = []
    for i in order:
        w = key_width(entries[i][1], entries[i][2])
        if w > room:
            break  # strictly by rank: a short low key never jumps a long important one
        shown.append(i)
        room -= w
    dropped = len(shown) < len(order)
    if help_at is not None:
        shown.append(help_at)
    return shown, dropped


class LeanFooter(Footer):
    """Textual's Footer shows every key in declaration order, cut at the right edge, and
    rebuilds every key (a widget each, each restyled) whenever the screen's bindings may have
    changed: a focus move, `refresh_bindings`, the app gaining focus. Three such rebuilds, all
    alike, landed on the UI thread just after the dashboard's first frame, while the first
    checks were being polled. This one shows the keys that fit by rank, and skips a rebuild
    that would draw the same keys."""

    _shown: tuple | None = None

    def _entries(self) -> list[tuple[Binding, str, str, bool, str]]:
        """The screen's shown bindings, one per action (as Footer does), in declaration order."""
        seen: set[str] = set()
        out = []
        app = self.app
        for _node, binding, enabled, tooltip in self.screen.active_bindings.values():
            if not binding.show or binding.action in seen:
                continue
            seen.add(binding.action)
            out.append(
                (binding, app.get_key_display(binding), binding.description, enabled, tooltip)
            )
        return out

    def _palette(self) -> tuple | None:
        if not (self.show_command_palette and self.app.ENABLE_COMMAND_PALETTE):
            return None
        found = self.screen.active_bindings.get(self.app.COMMAND_PALETTE_BINDING)
        if found is None:
            return None
        _node, binding, enabled, _tooltip = found
        return (binding, self.app.get_key_display(binding), binding.description, enabled)

    def _keys(self) -> tuple | None:
        """What the footer would show now: the keys that fit, in order, and the palette key."""
        if not self.is_attached or not self._bindings_ready:
            return None
        entries = [e for e in self._entries() if e[0].key != self.app.COMMAND_PALETTE_BINDING]
        palette = self._palette()
        width = self.size.width or self.app.size.width
        if palette is not None:
            width -= key_width(palette[1], palette[2])  # docked right: a border, no left padding
        shown, dropped = fit([(b, k, d) for b, k, d, _, _ in entries], width)
        keys = []
        for i in shown:
            binding, key, description, enabled, tooltip = entries[i]
            if binding.id == HELP and dropped:
                description = "More"
            keys.append((binding, key, description, enabled, tooltip))
        return (tuple(keys), palette, self.compact)

    def compose(self) -> ComposeResult:
        layout = self._keys()
        if layout is None:
            return
        keys, palette, _compact = layout
        for binding, key, description, enabled, tooltip in keys:
            yield FooterKey(
                binding.key, key, description, binding.action, disabled=not enabled, tooltip=tooltip
            ).data_bind(compact=Footer.compact)
        if palette is not None:
            binding, key, description, enabled = palette
            yield FooterKey(
                binding.key,
                key,
                description,
                binding.action,
                classes="-command-palette",
                disabled=not enabled,
                tooltip=binding.tooltip or description,
            )

    async def recompose(self) -> None:
        layout = self._keys()
        if layout is not None and layout == self._shown:
            return
        self._shown = layout
        await super().recompose()

    def on_resize(self) -> None:
        # a narrower terminal may fit fewer keys (and a wider one more)
        if self._keys() != self._shown:
            self.call_after_refresh(self.recompose)
