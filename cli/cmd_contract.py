"""`tre contract check` and `tre contract quote`: validate contracts, show their costs."""

from __future__ import annotations

import json
import sqlite3

import click
from click.core import ParameterSource

from provisioning.contract import contract_files, load_contract, read_contracts
from provisioning.errors import StateError
from provisioning.policy import load_policy
from provisioning.quote import Quote, money, quote, quote_as_dict, quote_csv
from provisioning.state import SQLITE, StateStore, dialect_of, sqlite_path

from .errors import echo_problems
from .options import json_option, policy_option, state_url_option


@click.group()
def contract() -> None:
    """Validate contracts and quote their costs.

    A contract is one YAML file per project (docs/contracts.md); the policy (tariffs, quotas,
    known file subjects) is the shipped CBS 2026 one unless --policy or $TRE_POLICY says
    otherwise (docs/policy.md).

    \b
    Example:
      tre contract check examples/contracts/*.yaml
      tre contract quote examples/contracts/9002-typical.yaml
    """


def _applied(ctx: click.Context, state_url: str) -> dict[str, dict]:
    """The last applied contract of every project, from the state store if there is one.

    No store file yet: nothing was applied. The default store unreadable (not root): a note,
    and the applied state is not checked; a store given with --state/$TRE_STATE must open.
    """
    explicit = ctx.get_parameter_source("state_url") is not ParameterSource.DEFAULT
    try:
        if dialect_of(state_url) == SQLITE and not sqlite_path(state_url).exists():
            return {}
        store = StateStore(state_url)
        try:
            return store.applied_contracts()
        finally:
            store.close()
    except (StateError, sqlite3.Error) as e:
        if explicit:
            raise StateError(str(e)) from None  # one "Error:" line and its exit code
        click.echo(f"note: tokens not checked against the applied state ({e})", err=True)
        return {}


@contract.command()
@click.argument("files", nargs=-1, required=True, metavar="FILE...")
@policy_option
@state_url_option
@json_option
@click.pass_context
def check(
    ctx: click.Context,
    files: tuple[str, ...],
    policy_path: str | None,
    state_url: str,
    as_json: bool,
) -> None:
    """Check contracts against every rule; report all problems of all files.

    One line per problem, `FILE: path.to[2].field: what is wrong and the rule`. A directory
    stands for its *.yaml/*.yml files (hidden files skipped, a symlink leading out of it
    refused). Contracts checked together are one batch, as in `tre plan`: two files of one
    project both refuse, and a token is one person's across the batch and the applied state
    (the state store, if it exists). Exit 0 when all are valid, 1 when any is not.

    \b
    Example:
      tre contract check examples/contracts/
      tre contract check --json 9001.yaml 9002.yaml
    """
    policy = load_policy(policy_path)  # its problems: one line each on stderr, exit 1
    paths = contract_files(list(files))[0]
    problems = read_contracts(list(files), policy, _applied(ctx, state_url))[1]
    if as_json:
        click.echo(json.dumps([p.as_dict() for p in problems], indent=2, ensure_ascii=False))
    else:
        echo_problems(problems, err=False)  # the report itself: stdout
        if not problems:
            click.echo(f"{len(paths)} contract(s) valid", err=True)
    ctx.exit(1 if problems else 0)


@contract.command(name="quote")
@click.argument("file", metavar="FILE")
@policy_option
@json_option
@click.option("--csv", "as_csv", is_flag=True, help="One CSV row per cost line.")
def quote_cmd(file: str, policy_path: str | None, as_json: bool, as_csv: bool) -> None:
    """Show the cost overview of a contract, from the policy's tariffs.

    One-off costs (start, file subjects, new researchers and observers, OSSC), the monthly
    costs of every month (support per file subject and researcher, software, extra storage),
    calendar-quarter subtotals as invoiced, and the total (docs/quote.md).

    \b
    Example:
      tre contract quote examples/contracts/9002-typical.yaml
      tre contract quote --csv examples/contracts/9001-small.yaml > 9001.csv
    """
    if as_json and as_csv:
        raise click.UsageError("choose one of --json and --csv")
    policy = load_policy(policy_path)
    c = load_contract(file, policy)  # its problems: one line each on stderr, exit 1
    q = quote(c, policy)
    if as_json:
        click.echo(json.dumps(quote_as_dict(q), indent=2, ensure_ascii=False))
    elif as_csv:
        click.echo(quote_csv(q), nl=False)
    else:
        click.echo(render(q))


def render(q: Quote) -> str:
    """The quote as a plain-text table for a terminal or an e-mail."""
    cur = q.currency
    out = [
        f"Cost overview: project {q.project}, {q.title}",
        f"Period {q.start} to {q.end}; amounts in {cur}",
        "",
        "One-off costs",
    ]
    for ln in q.lines:
        if ln.kind == "one-off":
            out.append(
                f"  {ln.month:%Y-%m}  {ln.item:<42} {ln.quantity:>4} x "
                f"{money(ln.unit_price):>9} = {money(ln.amount):>10}"
            )
    out.append(f"  {'':7}  {'one-off total':<42} {'':>20} {money(q.one_off_total):>10}")
    out += ["", "Monthly costs"]
    items = sorted({ln.item for ln in q.lines if ln.kind == "monthly"})
    for m, _one_off, monthly in q.months():
        parts = [
            f"{ln.item} {ln.quantity}x{money(ln.unit_price)}"
            for ln in q.lines
            if ln.kind == "monthly" and ln.month == m
        ]
        out.append(f"  {m:%Y-%m}  {money(monthly):>10}  {'; '.join(parts)}")
    out.append(f"  {'total':7}  {money(q.monthly_total):>10}  ({len(items)} kinds of monthly cost)")
    out += ["", "Invoices per calendar quarter (one-off + monthly)"]
    for period, amount in q.quarters():
        out.append(f"  {period:<8} {money(amount):>12}")
    out += ["", f"Total {cur} {money(q.total)}"]
    return "\n".join(out)
