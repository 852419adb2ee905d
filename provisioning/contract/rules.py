"""The catalogue's rules that one contract alone can show (RULES.md; docs/contracts.md).

Each check takes the draft (fields that failed to read are ``None`` and are skipped) and adds
problems with a stable rule id. The numbers come from the policy, never from here.
"""

from __future__ import annotations

import difflib
from datetime import date, timedelta

from provisioning.calendar import add_months, min_until, month_end, months
from provisioning.policy_model import Policy
from provisioning.validation.fields import Checker, join

from .model import Person
from .parse import Draft


def same_employer(a: str | None, b: str | None) -> bool:
    """Employer names compare case-insensitively with spacing collapsed."""
    if a is None or b is None:
        return False
    return " ".join(a.casefold().split()) == " ".join(b.casefold().split())


def check(d: Draft, policy: Policy, c: Checker) -> None:
    _project_dates(d, policy, c)
    _people(d, policy, c)
    _file_subjects(d, policy, c)
    _software(d, policy, c)
    _storage(d, policy, c)
    _ossc(d, c)
    _suspensions(d, policy, c)


def _project_dates(d: Draft, policy: Policy, c: Checker) -> None:
    if d.start and d.start.day != 1:
        c.add(
            "start",
            "start-first-of-month",
            f"{d.start} is not the 1st of a month; projects always start on the 1st",
        )
    if d.start and d.end and d.end <= d.start:
        c.add("end", "end-after-start", f"{d.end} is not after the start {d.start}")
    limit = policy.max_duration_months
    if d.start and d.end and d.end > d.start and d.end >= add_months(d.start, limit):
        latest = add_months(d.start, limit) - timedelta(days=1)
        c.add(
            "end",
            "max-duration",
            f"project runs longer than {limit} months; end on or before {latest}",
        )
    auth = d.institution.authorization_until if d.institution else None
    if auth and d.end and d.end > auth:
        c.add(
            "end",
            "end-within-authorization",
            f"{d.end} is after the institution "
            f"authorisation expires ({auth}); a project never runs past it",
        )
    years = policy.institution_authorization_max_years
    if auth and d.start and auth > add_months(d.start, 12 * years):
        c.add(
            "institution.authorization_until",
            "authorization-max-years",
            f"{auth} is more than {years} years after the start {d.start}; an institution "
            f"authorisation is valid at most {years} years",
        )
    if d.retention_years is not None and d.retention_years not in policy.retention_years:
        choices = " or ".join(str(y) for y in policy.retention_years)
        c.add(
            "retention_years",
            "retention",
            f"{d.retention_years} is not allowed; archives are kept {choices} years",
        )


def _indexed(d: Draft) -> list[tuple[str, Person]]:
    out = [(join("researchers", i), p) for i, p in enumerate(d.researchers) if p]
    return out + [(join("observers", i), p) for i, p in enumerate(d.observers) if p]


def _people(d: Draft, policy: Policy, c: Checker) -> None:
    people = _indexed(d)
    if not d.researchers and "researchers" in d.given:
        c.add("researchers", "researchers-empty", "a project needs at least one researcher")
    seen_id: dict[str, str] = {}
    seen_token: dict[str, str] = {}
    for path, p in people:
        if p.id and p.id in seen_id:
            c.add(
                join(path, "id"),
                "id-unique",
                f"{p.id!r} is already used at {seen_id[p.id]}; "
                "ids are unique across researchers and observers",
            )
        elif p.id:
            seen_id[p.id] = path
        if p.token and p.token in seen_token:
            c.add(
                join(path, "token"),
                "token-unique",
                f"token {p.token} is already used at {seen_token[p.token]}; a token is personal",
            )
        elif p.token:
            seen_token[p.token] = path
        _person(path, p, d, policy, c)
    _lead(d, c)
    _institution_researcher(d, c)


def _person(path: str, p: Person, d: Draft, policy: Policy, c: Checker) -> None:
    who = "a researcher" if p.role == "researcher" else "an observer with a read account"
    if p.nda_signed is None and join(path, "nda_signed") not in {q.path for q in c.problems}:
        c.add(
            join(path, "nda_signed"),
            "nda-required",
            "missing; everyone on a project needs a signed confidentiality statement (NDA)",
        )
    if p.has_account:
        limit = policy.awareness_error_limit
        if p.token is None and join(path, "token") not in {q.path for q in c.problems}:
            c.add(join(path, "token"), "token-required", f"missing; {who} needs a token")
        if p.awareness_errors is None:
            if join(path, "awareness_errors") not in {q.path for q in c.problems}:
                c.add(
                    join(path, "awareness_errors"),
                    "awareness-required",
                    f"missing; {who} must pass the awareness questionnaire",
                )
        elif p.awareness_errors >= limit:
            c.add(
                join(path, "awareness_errors"),
                "awareness-limit",
                f"{p.awareness_errors} errors; the questionnaire is passed with fewer than {limit}",
            )
    if _given_both(path, d) and p.start and p.end and p.end < p.start:
        c.add(join(path, "until"), "period-order", f"{p.end} is before from {p.start}")
        return
    if p.start and p.start != d.start and p.start.day != 1:
        c.add(
            join(path, "from"),
            "person-from-first-of-month",
            f"{p.start} is not the 1st of a month; people are added from the 1st",
        )
    _inside(path, p.start, p.end, d, c)
    if p.nda_signed and p.start and p.nda_signed > p.start:
        c.add(
            join(path, "nda_signed"),
            "nda-before-start",
            f"{p.nda_signed} is after the person's start {p.start}; the NDA must be signed "
            "before access begins",
        )
    n = policy.researcher_min_months
    if p.role == "researcher" and p.start and p.end and d.end:
        needed = min(min_until(p.start, n), d.end)
        if p.end < needed:
            c.add(
                join(path, "until"),
                "person-min-months",
                f"{p.end} is too early; a researcher is added for at least {n} months or the "
                f"rest of the project (until {needed} or later)",
            )


def _given_both(path: str, d: Draft) -> bool:
    """Both ``from`` and ``until`` written (a defaulted date never makes an order problem)."""
    return join(path, "from") in d.given and join(path, "until") in d.given


def _inside(path: str, start: date | None, end: date | None, d: Draft, c: Checker) -> None:
    if not (d.start and d.end and d.start < d.end):
        return  # the project's own dates are wrong; that problem is reported once
    if start and d.start and d.end and not d.start <= start <= d.end:
        c.add(
            join(path, "from"),
            "period-inside-project",
            f"{start} is outside the project ({d.start} to {d.end})",
        )
    if end and d.start and d.end and not d.start <= end <= d.end:
        c.add(
            join(path, "until"),
            "period-inside-project",
            f"{end} is outside the project ({d.start} to {d.end})",
        )


def _lead(d: Draft, c: Checker) -> None:
    if d.lead is None or "researchers" not in d.given:
        return  # no readable list of researchers (missing, not a list, too long): said already
    lead = next((p for p in d.researchers if p and p.id == d.lead), None)
    if lead is None and any(p is None or p.id is None for p in d.researchers):
        return  # an unreadable researcher may be the lead; its own problem says enough
    if lead is None:
        if any(p and p.id == d.lead for p in d.observers):
            c.add(
                "lead",
                "lead-is-researcher",
                f"{d.lead!r} is an observer; the lead must be one of the researchers",
            )
        else:
            ids = [p.id for p in d.researchers if p and p.id]
            close = difflib.get_close_matches(d.lead, ids, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            c.add("lead", "lead-is-researcher", f"{d.lead!r} is not one of the researchers{hint}")
        return
    inst = d.institution.name if d.institution else None
    if inst and lead.employer and not same_employer(lead.employer, inst):
        c.add(
            "lead",
            "lead-employed-by-institution",
            f"the lead works for {lead.employer!r}, not for the contracting institution {inst!r}",
        )


def _institution_researcher(d: Draft, c: Checker) -> None:
    """Every month of the project, at least one active researcher works for the institution."""
    inst = d.institution.name if d.institution else None
    if not (inst and d.start and d.end and d.end > d.start) or not d.researchers:
        return
    if any(p is None or p.employer is None for p in d.researchers):
        return  # an unreadable researcher: the other problems say enough
    own = [p for p in d.researchers if p and same_employer(p.employer, inst)]
    for month in months(d.start, d.end):
        last = month_end(month)
        if not any(p.start and p.end and p.start <= last and p.end >= month for p in own):
            c.add(
                "researchers",
                "institution-researcher",
                f"no researcher of {inst!r} is active in {month:%Y-%m}; at least one active "
                "researcher must work for the contracting institution",
            )
            return


def _file_subjects(d: Draft, policy: Policy, c: Checker) -> None:
    seen: dict[str, str] = {}
    for i, g in enumerate(d.file_subjects):
        path = join("file_subjects", i)
        if g is None:
            continue
        named = join(path, "name") if join(path, "from") in d.given else path
        if g.name not in policy.file_subjects:
            close = difflib.get_close_matches(g.name, policy.file_subjects, n=1)
            hint = f"did you mean {close[0]!r}?" if close else "see the policy's file_subjects"
            c.add(named, "file-subject-unknown", f"{g.name!r} is not a known file subject; {hint}")
        if g.name in seen:
            c.add(
                named,
                "file-subject-duplicate",
                f"{g.name!r} is already listed at {seen[g.name]}; each subject once",
            )
        seen.setdefault(g.name, path)
        if g.start and g.start.day != 1 and join(path, "from") in d.given:
            c.add(
                join(path, "from"),
                "file-subject-from-first-of-month",
                f"{g.start} is not the 1st of a month; subjects are granted from the 1st",
            )
        _inside(path, g.start, None, d, c)


def _software(d: Draft, policy: Policy, c: Checker) -> None:
    known = [p.name for p in policy.software]
    taken: dict[str, list[tuple[date, date]]] = {}
    for i, s in enumerate(d.software):
        path = join("software", i)
        if s is None or s.package is None:
            continue
        if s.package not in known:
            c.add(
                join(path, "package"),
                "software-unknown",
                f"{s.package!r} is not an extra package; one of {', '.join(known)}",
            )
            continue
        if not (s.start and s.end):
            continue
        if s.end < s.start and _given_both(path, d):
            c.add(join(path, "until"), "period-order", f"{s.end} is before from {s.start}")
            continue
        _inside(path, s.start, s.end, d, c)
        pkg = policy.package(s.package)
        if pkg.billing == "per_month" and (s.start.day != 1 or s.end != month_end(s.end)):
            c.add(
                path,
                "software-calendar-months",
                f"{pkg.name} is taken per calendar month: from a 1st until the last day of a month",
            )
        elif pkg.billing == "until_end" and d.end and s.end != d.end:
            c.add(
                join(path, "until"),
                "software-until-end",
                f"{pkg.name} runs from the request "
                f"month to the project end; until must be {d.end} (or left out)",
            )
        elif pkg.billing == "minimum" and s.end < min_until(s.start, pkg.min_months):
            c.add(
                join(path, "until"),
                "software-min-months",
                f"{pkg.name} is taken for at "
                f"least {pkg.min_months} months: until {min_until(s.start, pkg.min_months)} "
                "or later",
            )
        for a, b in taken.get(s.package, []):
            if s.start <= b and a <= s.end:
                c.add(path, "software-overlap", f"{s.package} is already taken {a} to {b}")
                break
        taken.setdefault(s.package, []).append((s.start, s.end))


def _storage(d: Draft, policy: Policy, c: Checker) -> None:
    for i, e in enumerate(d.extra_storage):
        path = join("storage.extra", i)
        if e is None or not (e.start and e.end):
            continue
        if e.end < e.start and _given_both(path, d):
            c.add(join(path, "until"), "period-order", f"{e.end} is before from {e.start}")
            continue
        if e.start.day != 1:
            c.add(
                join(path, "from"),
                "storage-from-first-of-month",
                f"{e.start} is not the 1st of a month; extra storage is billed per month",
            )
        _inside(path, e.start, e.end, d, c)
        step = policy.storage_step(e.size)
        if e.end < min_until(e.start, step.min_months):
            c.add(
                join(path, "until"),
                "storage-min-months",
                f"{e.size} is taken for at least "
                f"{step.min_months} months: until {min_until(e.start, step.min_months)} "
                "or later",
            )


def _ossc(d: Draft, c: Checker) -> None:
    o = d.ossc
    if o is None:
        return
    researcher_ids = {p.id for p in d.researchers if p and p.id}
    if not o.researchers and "ossc.researchers" not in {q.path for q in c.problems}:
        c.add("ossc.researchers", "ossc-researchers", "name at least one researcher for OSSC")
    seen: set[str] = set()
    for i, pid in enumerate(o.researchers):
        path = join("ossc.researchers", i)
        if pid in seen:
            c.add(path, "ossc-duplicate", f"{pid!r} is listed twice")
        seen.add(pid)
        if pid not in researcher_ids:
            c.add(path, "ossc-researcher", f"{pid!r} is not one of the project's researchers")
    if o.start and o.end and o.end < o.start and _given_both("ossc", d):
        c.add("ossc.until", "period-order", f"{o.end} is before from {o.start}")
    else:
        _inside("ossc", o.start, o.end, d, c)


def _suspensions(d: Draft, policy: Policy, c: Checker) -> None:
    """Whole months, at least the policy's minimum, inside the project, no overlap."""
    n = policy.suspension_min_months
    taken: list[tuple[str, date, date]] = []
    for i, s in enumerate(d.suspensions):
        path = join("suspensions", i)
        if s is None:
            continue
        if s.end < s.start:
            c.add(join(path, "until"), "period-order", f"{s.end} is before from {s.start}")
            continue
        if s.start.day != 1 or s.end != month_end(s.end):
            c.add(
                path,
                "suspension-whole-months",
                f"{s.start} to {s.end} is not whole months; a suspension runs from a 1st "
                "until the last day of a month",
            )
        elif s.end < min_until(s.start, n):
            c.add(
                join(path, "until"),
                "suspension-min-months",
                f"{s.end} is too early; a suspension lasts at least {n} month(s): until "
                f"{min_until(s.start, n)} or later",
            )
        _inside(path, s.start, s.end, d, c)
        for other, a, b in taken:
            if s.start <= b and a <= s.end:
                c.add(path, "suspension-overlap", f"overlaps {other} ({a} to {b})")
                break
        taken.append((path, s.start, s.end))
