"""`tre bill QUARTER`: a quarter's invoice lines per institution, and issuing them."""

from __future__ import annotations

import json
from datetime import date

import click

from provisioning.billing import (
    Invoice,
    InvoiceLine,
    Quarter,
    invoice,
    issue,
    line_dict,
    lines_csv,
    money,
    total,
)
from provisioning.billing.issue import issued_on
from provisioning.errors import StateError
from provisioning.orchestrate import actor
from provisioning.policy import load_policy
from provisioning.runner import new_run_id
from provisioning.state import StateStore, sqlite_path

from .options import json_option, policy_option, state_url_option, today_option


def _quarter(_ctx: click.Context, _param: click.Parameter, value: str) -> Quarter:
    try:
        return Quarter.parse(value)
    except ValueError as e:
        raise click.BadParameter(str(e)) from None


@click.command()
@click.argument("quarter", metavar="QUARTER", callback=_quarter)
@click.option(
    "--institution",
    help="Only this institution's lines (its name as in the contracts; case is ignored).",
)
@click.option("--issue", "do_issue", is_flag=True, help="Issue the quarter: final from then on.")
@json_option
@click.option("--csv", "as_csv", is_flag=True, help="CSV: one header row, one row per line.")
@state_url_option
@policy_option
@today_option
def bill(
    quarter: Quarter,
    institution: str | None,
    do_issue: bool,
    as_json: bool,
    as_csv: bool,
    state_url: str,
    policy_path: str | None,
    today: date,
) -> None:
    """Invoice lines of a calendar quarter (QUARTER like 2027Q1), per institution.

    One line per project, service and month, priced with the policy's tariffs from what
    happened: the applied revisions with their days, suspensions, measured over-quota
    storage, archives, moves and reopens (docs/billing.md). An open quarter is a preview,
    with correction lines for months of issued quarters that changed since; --issue records
    an ended quarter in the ledger (with the SHA-256 of its lines), after which its lines
    never change. Amounts in --json are text with two decimals.

    \b
    Example:
      tre bill 2027Q1 --institution "Erasmus Universiteit Rotterdam"
      tre bill 2027Q1 --csv > 2027Q1.csv && tre bill 2027Q1 --issue
    """
    if as_json and as_csv:
        raise click.UsageError("choose one of --json and --csv")
    if do_issue and institution:
        raise click.UsageError("--issue issues the whole quarter; leave out --institution")
    policy = load_policy(policy_path)
    local = state_url.startswith("sqlite:") or "://" not in state_url
    if local and not sqlite_path(state_url).exists():  # a read never creates a store
        raise StateError(f"no state store at {sqlite_path(state_url)}: nothing was applied yet")
    store = StateStore(state_url)
    try:
        if do_issue:
            inv = issue(store, quarter, policy, today, actor(), new_run_id())
            click.echo(
                f"{quarter} issued: {len(inv.lines)} line(s), {policy.currency}"
                f" {money(total(inv.lines))}, SHA-256 {inv.sha256}",
                err=True,
            )
        else:
            inv = invoice(store, quarter, policy)
    finally:
        store.close()
    lines = [
        ln
        for ln in inv.lines
        if institution is None or ln.institution.casefold() == institution.casefold()
    ]
    if as_json:
        click.echo(json.dumps([line_dict(ln) for ln in lines], indent=2, ensure_ascii=False))
    elif as_csv:
        click.echo(lines_csv(lines), nl=False)
    else:
        click.echo(render(inv, lines, policy.currency))


def render(inv: Invoice, lines: list[InvoiceLine], currency: str) -> str:
    q = inv.quarter
    if inv.issued:
        state = f"issued {issued_on(inv.issued)} by {inv.issued['actor']}, SHA-256 {inv.sha256}"
    else:
        state = "open: a preview, not issued"
    out = [f"Invoice lines {q} ({q.start} to {q.end}), {state}"]
    for name in sorted({ln.institution for ln in lines}):
        mine = [ln for ln in lines if ln.institution == name]
        out += ["", name]
        for ln in mine:
            mark = "*" if ln.correction else " "
            out.append(
                f" {mark}{ln.project:>8}  {ln.period_start:%Y-%m}  {ln.code:<20}"
                f" {ln.quantity:>5} x {money(ln.unit_price):>9} = {money(ln.amount):>10}"
                f"  {ln.service}"
            )
        out.append(f"  {'subtotal':<8}  {'':7}  {'':20} {'':19} {money(total(mine)):>10}")
    if any(ln.correction for ln in lines):
        out += ["", "* correction of a month of an issued quarter"]
    out += ["", f"Total {currency} {money(total(lines))} ({len(lines)} line(s))"]
    return "\n".join(out)
