"""A Footer that rebuilds its keys only when the keys it would show have changed."""

from __future__ import annotations

from textual.widgets import Footer


class LeanFooter(Footer):
    """Textual's Footer rebuilds every key (a widget each, each restyled) whenever the screen's
    bindings may have changed: a focus move, `refresh_bindings`, the app gaining focus. Three
    such rebuilds, all alike, landed on the UI thread just after the dashboard's first frame,
    while the first checks were being polled. This one skips a rebuild that would draw the
    same keys."""

    _shown: tuple | None = None

    def _keys(self) -> tuple | None:
        if not self.is_attached:
            return None
        app = self.app
        keys = tuple(
            (binding, app.get_key_display(binding), enabled, tooltip)  # Binding: a frozen dataclass
            for _node, binding, enabled, tooltip in self.screen.active_bindings.values()
            if binding.show or binding.key == app.COMMAND_PALETTE_BINDING
        )
        return (keys, self.compact, self.show_command_palette, self._bindings_ready)

    async def recompose(self) -> None:
        keys = self._keys()
        if keys is not None and keys == self._shown:
            return
        self._shown = keys
        await super().recompose()
