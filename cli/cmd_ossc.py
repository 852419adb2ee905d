"""`tre ossc confirm-destroyed N`: the operator records that a project's OSSC content is gone."""

from __future__ import annotations

import json
from datetime import date

import click

from provisioning.errors import ProvisioningError
from provisioning.ids import PROJECT_RE
from provisioning.jobs.reminders import confirmed_destroyed
from provisioning.orchestrate import actor
from provisioning.state import LedgerEntry, StateStore

from .options import json_option, state_url_option, today_option


@click.group()
def ossc() -> None:
    """The OSSC hand-off: confirm the destruction of a project's OSSC content.

    \b
    Example:
      tre ossc confirm-destroyed 9003
    """


@ossc.command("confirm-destroyed")
@click.argument("project")
@today_option
@state_url_option
@json_option
def confirm_destroyed(project: str, today: date, state_url: str, as_json: bool) -> None:
    """Record in the ledger that PROJECT's OSSC content was destroyed (on --today).

    The ossc-deadline job stops reporting it. The OSSC end is the one of the project's last
    applied revision; a second confirmation of the same end records nothing.

    \b
    Example:
      tre ossc confirm-destroyed 9003
    """
    if not PROJECT_RE.fullmatch(project):
        raise click.BadParameter("a project number is 1-8 digits without a leading 0")
    store = StateStore(state_url)
    row = store.project(project)
    if row is None:
        raise ProvisioningError(f"project {project}: not in the state store (never applied)")
    if not row.get("ossc_end"):
        raise ProvisioningError(f"project {project}: its applied contract has no OSSC use")
    end = row["ossc_end"]
    already = confirmed_destroyed(store, project, end)
    if not already:
        store.record(
            [
                LedgerEntry(
                    at=_now(),
                    actor=actor(),
                    run_id=f"ossc-{today.isoformat()}",
                    project=project,
                    host=None,
                    op="confirm-destroyed",
                    kind="ossc",
                    name=None,
                    detail={
                        "ossc_end": end,
                        "destroyed_on": today.isoformat(),
                        "deadline": row.get("ossc_destruction_deadline"),
                    },
                )  # fmt: skip
            ]
        )
    out = {"project": project, "ossc_end": end, "recorded": not already}
    if as_json:
        click.echo(json.dumps(out))
    elif already:
        click.echo(f"project {project}: OSSC destruction (end {end}) was already confirmed")
    else:
        click.echo(f"project {project}: OSSC destruction (end {end}) confirmed in the ledger")


def _now() -> str:
    from datetime import UTC, datetime

    return datetime.now(UTC).isoformat(timespec="seconds")
