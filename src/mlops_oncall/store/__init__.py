"""The store: SQLAlchemy Core tables, engine from a URL, repositories and migrations."""
