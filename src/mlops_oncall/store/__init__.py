"""The store: SQLModel tables, engine from a URL, repositories and migrations."""
