"""`mlops-oncall schema NAME`: the JSON Schema of a file format."""

from __future__ import annotations

import click

from mlops_oncall.cli.common import echo_json, fail


@click.command()
@click.argument("name", metavar="NAME")
def schema(name: str) -> None:
    """Print the JSON Schema of a file format: runbook, checks, scenario, slos, readiness or
    config.

    Point yaml-language-server at it with a first line such as
    `# yaml-language-server: $schema=runbook.schema.json`.
    """
    from mlops_oncall.formats.jsonschema import SCHEMAS, schema_for

    if name not in SCHEMAS:
        fail(f"unknown schema '{name}'; expected one of: {', '.join(sorted(SCHEMAS))}", 2)
    echo_json(schema_for(name))
