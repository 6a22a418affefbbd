"""The baseline: a hello-world Textual app."""

from textual.app import App
from textual.widgets import Footer, Header, Static


class Hello(App):
    def compose(self):
        yield Header()
        yield Static("HELLO-READY")
        yield Footer()


if __name__ == "__main__":
    Hello().run()
