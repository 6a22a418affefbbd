"""Runbooks: schema, located loading, the library index, search and matching."""
