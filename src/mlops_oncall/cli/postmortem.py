"""`mlops-oncall postmortem ID`: an incident's postmortem, rendered from its timeline."""

from __future__ import annotations

import click

from mlops_oncall.cli.common import (
    domain_errors,
    echo_json,
    json_option,
    pass_app,
    strict_option,
    verified,
)
from mlops_oncall.cli.report import (
    document_env,
    emit,
    force_option,
    output_option,
    template_option,
)


@click.command()
@click.argument("ref", metavar="ID")
@output_option
@force_option
@template_option
@strict_option
@json_option
@pass_app
@domain_errors
def postmortem(app, ref, output, force, template_file, strict, as_json):
    """Render the postmortem of incident ID (Markdown, Google SRE sections).

    Sections with nothing written yet show a prompt saying how to fill them
    (`incident set`). --json prints the template's variables instead. An incident that fails
    `incident verify` gets a warning on stderr and a banner line at the top of the document,
    or with --strict no document (exit 1).
    """
    from mlops_oncall.incidents.service import verification_banner
    from mlops_oncall.reports import postmortem as pm

    env = document_env(app)
    banner = verification_banner(verified(env.session.incidents, ref, strict))
    if as_json:
        echo_json(pm.build_context(ref, sources=env.sources, **env.session.postmortem_inputs()))
        return
    text = pm.render_postmortem(
        ref,
        sources=env.sources,
        templates_dir=env.templates_dir,
        template_file=template_file,
        **env.session.postmortem_inputs(),
    )
    if banner:  # a blockquote, so it stands out in any Markdown viewer and in plain text
        text = f"> **{env.sources.redact_text(banner)}**\n\n{text}"
    emit(app, text, output, force)
