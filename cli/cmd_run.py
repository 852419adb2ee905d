"""`tre plan`, `tre apply`, `tre desired`: contracts become AD objects, storage and hand-offs."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import click

from provisioning.contract import load_contracts
from provisioning.contract.model import Contract
from provisioning.desired import build_desired_state
from provisioning.orchestrate import apply as do_apply
from provisioning.orchestrate import (
    apply_lock,
    close_interrupted,
    confirm_pending,
    prepare,
)
from provisioning.orchestrate import plan as do_plan
from provisioning.policy import load_policy
from provisioning.policy_model import Policy
from provisioning.project_links import link_desired
from provisioning.records import disk_errors, private_umask, prune_run_records
from provisioning.runner import encode_desired
from provisioning.state import StateStore

from .options import policy_option, run_options, today_option
from .render import render_changes

contracts_argument = click.argument(
    "contracts", nargs=-1, required=True, type=click.Path(path_type=Path)
)  # for `tre desired`; plan and apply take it with the rest of run_options


def _load(contracts: tuple[Path, ...], policy_path: str | None) -> tuple[Policy, list[Contract]]:
    """The policy and the contracts; their problems (ProblemsError) are printed by the group."""
    policy = load_policy(policy_path)
    return policy, load_contracts(list(contracts), policy)


def _prepare(
    contracts: tuple[Path, ...],
    policy_path: str | None,
    today: date,
    state_url: str,
    home: Path,
    force: bool = False,
):
    policy, loaded = _load(contracts, policy_path)
    store = StateStore(state_url)
    prune_run_records(home, store, policy.run_records_days)
    prepared = prepare(loaded, policy, today, store, force=force)
    for p in prepared.forced:  # let through by --force; the apply's ledger records it
        click.echo(f"Note: forced: {p.line()}", err=True)
    return prepared, store


force_option = click.option(
    "--force",
    is_flag=True,
    help="Also lower a quota below current usage (blocks writes), and apply an extension"
    " later than the policy's notice (the ledger records it as forced).",
)


def _exit_if_unsafe(result) -> None:
    """One line per project left unchanged as unsafe, then exit 1 (after the others ran)."""
    for u in result.unsafe:
        click.echo(f"unsafe: project {u['project']}: {u['reason']}; left unchanged", err=True)
    if result.unsafe:
        click.get_current_context().exit(1)  # click's Exit: the report above is the message


def _report(result, as_json: bool, planned: bool, desired=None) -> None:
    if as_json:
        out = {
            "run_id": result.run_id,
            "check": result.check,
            "changes": result.changes,
            "warnings": result.warnings,
            "seat_warnings": result.seat_warnings,
            "unsafe": result.unsafe,
            "artifacts": result.artifacts,
        }
        click.echo(json.dumps(out, indent=2, ensure_ascii=False, default=str))
    else:
        seats = result.seat_warnings
        render_changes(
            result.changes, result.warnings, planned=planned, desired=desired, seat_warnings=seats
        )


@click.command()
@run_options
@force_option
def plan(contracts, inventory, today, policy_path, state_url, home, as_json, force) -> None:
    """Show what an apply would create, change or leave; change nothing.

    CONTRACTS are contract files or directories of them; all go into one Ansible run in
    check mode. Only approved contracts are accepted.

    \b
    Example:
      tre plan examples/contracts/ --today 2026-12-01
    """
    private_umask()  # run records, journals and the store name people: 0600/0700
    with disk_errors(home):  # a full or read-only home: one line
        prepared, _store = _prepare(contracts, policy_path, today, state_url, home, force)
        result = do_plan(prepared, inventory, home)
    _report(result, as_json, planned=True, desired=prepared.desired)
    _exit_if_unsafe(result)


@click.command()
@run_options
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation (for jobs).")
@click.option(
    "--wait",
    is_flag=True,
    envvar="TRE_APPLY_WAIT",
    help="On a PostgreSQL store whose apply lock another apply holds: wait for it (up to"
    " 10 minutes) instead of stopping. An SQLite store's local lock is always waited for.",
)
@force_option
def apply(
    contracts, inventory, today, policy_path, state_url, home, as_json, yes, wait, force
) -> None:
    """Apply contracts: show the plan, ask, then create and change what it says.

    Every change is recorded in the state store's audit ledger; a second apply with the same
    contracts changes nothing. With --json there is no plan to read and no prompt: it needs
    --yes.

    \b
    Example:
      tre apply examples/contracts/ --yes
    """
    if as_json and not yes:  # a prompt would land in the JSON, and there is no plan to read
        raise click.UsageError("--json needs --yes: apply asks for confirmation of a plan it shows")
    private_umask()  # run records, journals and the store name people: 0600/0700
    note = lambda m: click.echo(f"Note: {m}", err=True)  # noqa: E731
    with disk_errors(home), apply_lock(home, state_url=state_url, wait=wait, say=note) as lock:
        prepared, store = _prepare(contracts, policy_path, today, state_url, home, force)
        interrupted = close_interrupted(
            store, home, say=lambda m: click.echo(f"Note: {m}", err=True)
        )
        for run_id in interrupted.run_ids:
            click.echo(
                f"Note: run {run_id} was interrupted; this apply repairs what it left.", err=True
            )
        planned = do_plan(prepared, inventory, home)
        if interrupted.pending:
            projects = [c.project for c in prepared.contracts]
            confirm_pending(store, interrupted, planned, projects)
        if not as_json:
            render_changes(
                planned.changes,
                planned.warnings,
                planned=True,
                desired=prepared.desired,
                seat_warnings=planned.seat_warnings,
            )
        if not yes and planned.changes:
            click.confirm("Apply these changes?", abort=True)  # no: click's Abort, exit 1
        result = do_apply(
            prepared, inventory, home, store, force=force, planned=planned, on_run=lock.running
        )
    if result is not planned or as_json:
        _report(result, as_json, planned=False)
    # else nothing to change: the plan above said so, the revision is recorded
    _exit_if_unsafe(result)


@click.command()
@contracts_argument
@today_option
@policy_option
@click.option(
    "--b64",
    is_flag=True,
    help="Print it as site.yml takes it (tre_desired_b64: base64 of the JSON), e.g. for AWX.",
)
def desired(contracts, today, policy_path, b64) -> None:
    """Print the desired state (JSON) that plan/apply hand to the playbook.

    For debugging, Molecule and AWX, which run the same playbook with it. The playbook takes
    it base64-encoded as the extra variable tre_desired_b64 (--b64), never as plain
    variables: Ansible would evaluate template syntax in them.

    \b
    Example:
      tre desired examples/contracts/ --today 2026-12-01 > desired.json
    """
    policy, loaded = _load(contracts, policy_path)
    state = link_desired(build_desired_state(loaded, policy, today), loaded, today)  # no state
    click.echo(encode_desired(state) if b64 else json.dumps(state, indent=2, ensure_ascii=False))
