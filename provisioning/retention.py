"""Retention and purge of project archives, pure (docs/retention.md; ``today`` an argument).

An archive (status ``live-removed``: the project is ``archived``) is kept ``retention_years``
after the project's end: the **due date** is ``end + retention_years`` (calendar years). It is
purged only when every rule holds on ``today`` (``skip_reasons`` says which do not):

1. the due date has passed (``today > due``);
2. a purge notice was sent (``purge-notices``) and the last one at least ``purge_grace_days``
   ago;
3. no open objection (``tre archive object``; open until withdrawn or its ``until`` passed);
4. verified within ``archive_verify_days`` and the last verification passed;
5. not the source of a running reopened project (a contract with ``reopens: N`` whose period
   contains today).

``ArchiveView`` is what ``tre archive list`` shows and the rules read: the archive row plus
the project's last applied revision (end, retention, institution, lead) and the notices sent.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from typing import Any

from .calendar import add_months
from .policy_model import Policy

#: The job that mails the purge notices; its records are the notices sent.
NOTICE_JOB = "purge-notices"
ARCHIVED = "live-removed"


def due_on(end: date, retention_years: int) -> date:
    """The day the archive's retention ends: the end plus whole calendar years."""
    return add_months(end, 12 * retention_years)


def _day(value: Any) -> date | None:
    if value in (None, ""):
        return None
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


@dataclass(frozen=True)
class Notice:
    days: int  # the notice of ``days`` before the due date
    sent_on: date  # the --today of the job run that sent it


@dataclass(frozen=True)
class ArchiveView:
    project: str
    status: str  # copying | copied | verified | live-removed | purging | purged
    location: str
    institution: str
    end: date | None
    retention_years: int | None
    due: date | None
    size_gb: int | None
    files: int | None
    bytes: int | None
    manifest_sha256: str | None
    verified_on: date | None
    verify_result: str | None
    notices: tuple[Notice, ...]
    objection: dict[str, Any] | None  # {by, at, until, reason} while recorded
    lead: dict[str, Any] | None  # {email, name, language} of the last revision's lead

    def open_objection(self, today: date) -> dict[str, Any] | None:
        o = self.objection
        return o if o and (_day(o.get("until")) or date.max) >= today else None

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out.pop("lead")  # personal data: never printed
        out["notices"] = [{"days": n.days, "sent_on": n.sent_on.isoformat()} for n in self.notices]
        for key in ("end", "due", "verified_on"):
            out[key] = out[key].isoformat() if out[key] else None
        return out


def _lead(contract: dict[str, Any]) -> dict[str, Any] | None:
    for p in contract.get("researchers") or []:
        if p.get("id") == contract.get("lead"):
            return {"email": p.get("email"), "name": p.get("name"), "language": p.get("language")}
    return None


def notices_of(records: list[dict[str, Any]], project: str, due: date | None) -> tuple[Notice, ...]:
    """The purge notices sent for ``project`` about ``due`` (the job's notice records:
    subject the project, period ``<due>/<d>d``, result ``sent <day> ...``)."""
    if due is None:
        return ()
    found = []
    for r in records:
        period, result = str(r["period"]), str(r["result"]).split()
        if r["subject"] != project or not period.startswith(f"{due.isoformat()}/"):
            continue
        if len(result) >= 2 and result[0] == "sent":
            found.append(Notice(int(period.rsplit("/", 1)[1].rstrip("d")), _day(result[1])))  # type: ignore[arg-type]
    return tuple(sorted(found, key=lambda n: n.sent_on))


def view(
    row: dict[str, Any], contract: dict[str, Any] | None, notices: list[dict[str, Any]]
) -> ArchiveView:
    """An archive row, its project's last applied contract (stored dict) and the notice records."""
    contract = contract or {}
    end = _day(contract.get("end"))
    years = contract.get("retention_years") or row.get("retention_years")
    due = _day(row.get("due_on")) or (due_on(end, int(years)) if end and years else None)
    if row.get("retention_years") and row.get("due_on"):  # fixed once archived
        years = row["retention_years"]
    objection = None
    if row.get("objection_by"):
        objection = {
            "by": row["objection_by"],
            "at": row["objection_at"],
            "until": row["objection_until"],
            "reason": row["objection_reason"],
        }
    return ArchiveView(
        project=str(row["project"]),
        status=row["status"],
        location=row.get("location") or "",
        institution=(contract.get("institution") or {}).get("name") or "",
        end=end,
        retention_years=int(years) if years else None,
        due=due,
        size_gb=row.get("size_gb"),
        files=row.get("files"),
        bytes=row.get("bytes"),
        manifest_sha256=row.get("manifest_sha256"),
        verified_on=_day(row.get("verified_on")),
        verify_result=row.get("verify_result"),
        notices=notices_of(notices, str(row["project"]), due),
        objection=objection,
        lead=_lead(contract),
    )


def running_reopens(contracts: list[dict[str, Any]], today: date) -> dict[str, str]:
    """Source project → the reopened project running on ``today`` (a contract with
    ``reopens: N`` whose period contains today)."""
    out = {}
    for c in contracts:
        source = c.get("reopens")
        start, end = _day(c.get("start")), _day(c.get("end"))
        if source and start and end and start <= today <= end:
            out[str(source)] = str(c.get("project"))
    return out


def skip_reasons(
    a: ArchiveView, today: date, policy: Policy, reopened: dict[str, str]
) -> list[str]:
    """Why ``a`` may not be purged on ``today`` (empty: it may)."""
    if a.status != ARCHIVED:
        return [f"status {a.status}, not archived"]
    reasons = []
    if a.due is None:
        reasons.append("no due date (no applied revision with an end and a retention)")
    elif today <= a.due:
        reasons.append(f"not due: retained until {a.due}")
    if not a.notices:
        reasons.append("no notice sent yet")
    else:
        last = a.notices[-1].sent_on
        ready = last + timedelta(days=policy.purge_grace_days)
        if today < ready:
            reasons.append(f"last notice on {last}: grace until {ready}")
    o = a.open_objection(today)
    if o:
        reasons.append(f"objection by {o['by']} until {o['until']}")
    if a.verified_on is None:
        reasons.append("never verified")
    elif a.verify_result != "ok":
        reasons.append(f"verification of {a.verified_on} failed")
    elif (today - a.verified_on).days > policy.archive_verify_days:
        reasons.append(
            f"last verified {a.verified_on}, more than {policy.archive_verify_days} days ago"
        )
    if a.project in reopened:
        reasons.append(f"source of running reopened project {reopened[a.project]}")
    if not a.manifest_sha256:
        reasons.append("no manifest SHA-256 recorded")
    return reasons


def why_eligible(a: ArchiveView, policy: Policy) -> str:
    last = a.notices[-1].sent_on
    return (
        f"due {a.due}; last notice {last} (grace {policy.purge_grace_days} days); no open"
        f" objection; verified ok {a.verified_on}; not the source of a running reopen"
    )


@dataclass(frozen=True)
class PurgePlan:
    purge: list[tuple[ArchiveView, str]]  # (archive, why eligible), at most purge_max_per_run
    skip: list[tuple[ArchiveView, list[str]]]  # (archive, reasons)
    held_back: list[ArchiveView]  # eligible beyond purge_max_per_run: the next run's
    #: what is left in AD of the archives to purge that the purge may delete, if still there
    #: ``{project, op, kind, name}`` (``purge.ad_steps``, from the state's identity records)
    ad: list[dict[str, str]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "purge": [
                dict(a.as_dict(), why=w, ad=[s for s in self.ad if s["project"] == a.project])
                for a, w in self.purge
            ],
            "skip": [dict(a.as_dict(), reasons=r) for a, r in self.skip],
            "held_back": [a.project for a in self.held_back],
        }


def plan_purge(
    views: list[ArchiveView], today: date, policy: Policy, reopened: dict[str, str]
) -> PurgePlan:
    """Every archive not yet purged: the ones to purge now (oldest due first, at most
    ``purge_max_per_run``) and the ones skipped with their reasons."""
    purge, skip = [], []
    for a in sorted(views, key=lambda v: (v.due or date.max, int(v.project))):
        if a.status in ("purging", "purged"):  # a killed purge's: finished by the recovery
            continue
        reasons = skip_reasons(a, today, policy, reopened)
        if reasons:
            skip.append((a, reasons))
        else:
            purge.append((a, why_eligible(a, policy)))
    n = policy.purge_max_per_run
    return PurgePlan(purge[:n], skip, [a for a, _ in purge[n:]])


def notice_due(a: ArchiveView, today: date, policy: Policy) -> int | None:
    """The purge notice (its days) due for ``a`` on ``today``: the nearest one whose day
    (``due - d``) has come; a missed day is caught up by the next run, and a notice whose
    day passed while a nearer one is due too is not sent any more (no stale "90 days")."""
    if a.status != ARCHIVED or a.due is None:
        return None
    come = [d for d in sorted(policy.purge_notice_days) if a.due - timedelta(days=d) <= today]
    return come[0] if come else None


def verify_selection(views: list[ArchiveView], today: date, policy: Policy) -> list[ArchiveView]:
    """The archives the ``archive-verify`` job reads today: every one whose last verification
    would be too old by tomorrow (or failed, or never made), plus a rolling share of the
    oldest (``ceil(archives / archive_verify_days)``) so the work is spread over the days."""
    live = [a for a in views if a.status == ARCHIVED]
    days = policy.archive_verify_days
    oldest = sorted(live, key=lambda a: (a.verified_on or date.min, int(a.project)))
    must = [
        a
        for a in oldest
        if a.verified_on is None
        or a.verify_result != "ok"
        or (today - a.verified_on).days >= days - 1
    ]
    share = oldest[: math.ceil(len(live) / days)] if live else []
    chosen = {a.project for a in must} | {a.project for a in share}
    return [a for a in oldest if a.project in chosen and a.verified_on != today]
