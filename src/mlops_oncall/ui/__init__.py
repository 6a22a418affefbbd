"""The Textual UI. Only this package (and the CLI, lazily) may import Textual."""
