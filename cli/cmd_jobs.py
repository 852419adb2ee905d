"""`tre jobs run` / `tre jobs list`: the periodic jobs (docs/jobs.md), started by a timer."""

from __future__ import annotations

import json
from pathlib import Path

import click

from provisioning.contract import read_contracts
from provisioning.errors import ProvisioningError
from provisioning.inventory import load_inventory
from provisioning.jobs import (
    DEFAULT_METRICS_DIR,
    JOB_NAMES,
    JOBS,
    JobContext,
    JobSettings,
    job_table,
    jobs_lock,
    run_due,
)
from provisioning.jobs.mail import LANGUAGES, Mailer
from provisioning.orchestrate import check_inventory
from provisioning.policy import load_policy
from provisioning.records import disk_errors, private_umask
from provisioning.state import StateStore

from .errors import echo_problems
from .options import (
    inventory_option,
    json_option,
    policy_option,
    state_options,
    state_url_option,
    today_option,
)


@click.group()
def jobs() -> None:
    """The periodic jobs: reminders, deadlines, quota, drift; each once per period.

    \b
    Example:
      tre jobs list
      tre jobs run --contracts /etc/tre/contracts
    """


def _settings(operator_email, operator_language, metrics_dir, reconcile, inventory_vars):
    return JobSettings(
        operator_email=operator_email or inventory_vars.get("tre_operator_email") or None,
        operator_language=operator_language,
        metrics_dir=metrics_dir,
        reconcile=reconcile,
    )


def _contract_paths(files: tuple[Path, ...], contracts: Path | None) -> list[str]:
    if files:
        return [str(p) for p in files]
    if contracts is None:
        raise click.UsageError("no contracts: give CONTRACT... or --contracts DIR ($TRE_CONTRACTS)")
    return [str(contracts)]


def settings_options(f):
    for option in (
        click.option(
            "--contracts", "contracts", envvar="TRE_CONTRACTS",
            type=click.Path(file_okay=False, path_type=Path),
            help="Directory of the contracts when none is given (env TRE_CONTRACTS).",
        ),
        click.option(
            "--operator-email", "operator_email", envvar="TRE_OPERATOR_EMAIL",
            help="Where operator reports go (env TRE_OPERATOR_EMAIL; else the inventory's"
            " tre_operator_email).",
        ),
        click.option(
            "--operator-language", "operator_language", envvar="TRE_OPERATOR_LANGUAGE",
            type=click.Choice(LANGUAGES), default="nl", show_default=True,
            help="Language of the operator's mail (env TRE_OPERATOR_LANGUAGE).",
        ),
        click.option(
            "--metrics-dir", "metrics_dir", envvar="TRE_METRICS_DIR",
            type=click.Path(file_okay=False, path_type=Path), default=DEFAULT_METRICS_DIR,
            show_default=True,
            help="Prometheus textfile directory for the quota metrics (env TRE_METRICS_DIR).",
        ),
        click.option(
            "--reconcile/--no-reconcile", "reconcile", envvar="TRE_RECONCILE", default=False,
            show_default=True,
            help="Run the reconcile job (apply every contract daily; env TRE_RECONCILE).",
        ),
    )[::-1]:  # fmt: skip
        f = option(f)
    return f


@jobs.command("run")
@click.argument(
    "contract_files", metavar="[CONTRACT]...", nargs=-1, type=click.Path(path_type=Path)
)
@settings_options
@click.option(
    "--only", multiple=True, type=click.Choice(JOB_NAMES), metavar="NAME",
    help=f"Only this job (repeatable): {', '.join(JOB_NAMES)}.",
)  # fmt: skip
@inventory_option
@today_option
@policy_option
@state_options
@json_option
def run(
    contract_files, contracts, operator_email, operator_language, metrics_dir, reconcile, only,
    inventory, today, policy_path, state_url, home, as_json,
) -> None:  # fmt: skip
    """Run every job due on --today: each once per period, a missed day caught up.

    CONTRACT... are contract files or directories (default: --contracts). Two runs never
    overlap (a lock under --home). Exits 1 when a job failed, naming it; the next run
    retries it without sending anything twice.

    \b
    Example:
      tre jobs run --contracts /etc/tre/contracts --today 2026-12-07
    """
    paths = _contract_paths(contract_files, contracts)
    private_umask()  # run records and the store name people
    with disk_errors(home), jobs_lock(home):
        inventory = check_inventory(inventory)  # none configured: one line, exit 1
        policy = load_policy(policy_path)
        store = StateStore(state_url)
        loaded, problems = read_contracts(paths, policy, store.applied_contracts())
        echo_problems(problems)
        inv = load_inventory(inventory)
        ctx = JobContext(
            today=today,
            policy=policy,
            contracts=[c for c in loaded if c.status == "approved"],
            store=store,
            inventory=inventory,
            home=home,
            mailer=Mailer(inv.smtp_host, inv.smtp_port, inv.smtp_from),
            settings=_settings(
                operator_email, operator_language, metrics_dir, reconcile, inv.vars
            ),  # fmt: skip
        )
        reports = run_due(ctx, JOBS, set(only) or None)
    _report(reports, as_json)
    failed = [r.job for r in reports if r.status == "failed"]
    if problems:
        failed.append(f"contracts ({len(problems)} problem(s); the others were used)")
    if failed:
        raise ProvisioningError(f"job(s) failed: {', '.join(failed)}")


def _report(reports, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps([r.as_dict() for r in reports], indent=2, ensure_ascii=False))
    else:
        for r in reports:
            click.echo(f"{r.job:<14} {r.period:<11} {r.status:<8} {r.summary}")
    for r in reports:
        for w in r.warnings:
            click.echo(f"Warning: {w}", err=True)
        for f in r.failures:
            click.echo(f"Failed: {f}", err=True)


@jobs.command("list")
@settings_options
@today_option
@state_url_option
@json_option
def list_jobs(
    contracts, operator_email, operator_language, metrics_dir, reconcile, today, state_url,
    as_json,
) -> None:  # fmt: skip
    """The jobs: schedule, last run (when, period, result) and next due day.

    \b
    Example:
      tre jobs list --json
    """
    settings = _settings(operator_email, operator_language, metrics_dir, reconcile, {})
    rows = job_table(StateStore(state_url), JOBS, today, settings)
    if as_json:
        click.echo(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    click.echo(f"{'job':<14} {'schedule':<18} {'last run':<26} {'next due':<10}")
    for r in rows:
        last = f"{r['last_run']} ({r['last_period']})" if r["last_run"] else "never"
        click.echo(f"{r['job']:<14} {r['schedule']:<18} {last:<26} {r['next_due'] or 'off'}")
