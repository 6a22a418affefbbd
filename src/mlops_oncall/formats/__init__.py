"""Shared machinery for every user-written file: located YAML, problems, durations."""
