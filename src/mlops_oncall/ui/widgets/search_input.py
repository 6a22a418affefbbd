"""A search box whose own focus key, `/`, does not type itself into the empty box."""

from __future__ import annotations

from textual import events
from textual.widgets import Input


class SearchInput(Input):
    """`/` focuses search (as in less and vim); in an empty box it is that key, not text.

    Once something is typed, `/` is an ordinary character ("a/b" can be searched)."""

    def check_consume_key(self, key: str, character: str | None) -> bool:
        if character == "/" and not self.value:
            return False  # leaves the screen's `/` binding in the chain
        return super().check_consume_key(key, character)

    async def _on_key(self, event: events.Key) -> None:
        if event.character == "/" and not self.value:
            event.prevent_default()  # Input's own handler would insert it
            return
        await super()._on_key(event)
