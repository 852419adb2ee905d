"""The heavy desktop's rules (*Gebruik zware desktop*; RULES.md, docs/contracts.md).

Contract key ``heavy_desktop: [{researcher, from, until}]``, one entry per reservation. The
numbers come from the policy: a reservation lasts at most ``heavy_desktop_days`` days; a
reservation that starts the day after the previous one of the same researcher ends is an
**extension** of it, and at most ``heavy_desktop_extensions`` extensions follow each other;
at most ``heavy_desktop_max_researchers`` researchers of the project use it on any one day.
The researcher is one of the contract's researchers and reserves inside their own period
(which lies inside the project).
"""

from __future__ import annotations

from datetime import timedelta

from provisioning.policy_model import Policy
from provisioning.validation.fields import Checker, join

from .model import HeavyDesktop
from .parse import Draft


def check(d: Draft, policy: Policy, c: Checker) -> None:
    researchers = {p.id: p for p in d.researchers if p and p.id}
    valid: list[tuple[str, HeavyDesktop]] = []
    for i, r in enumerate(d.heavy_desktop):
        path = join("heavy_desktop", i)
        if r is None:
            continue
        if r.end < r.start:
            c.add(join(path, "until"), "period-order", f"{r.end} is before from {r.start}")
            continue
        days = (r.end - r.start).days + 1
        if days > policy.heavy_desktop_days:
            c.add(
                join(path, "until"),
                "heavy-desktop-days",
                f"{days} days; the heavy desktop is reserved at most "
                f"{policy.heavy_desktop_days} days at a time (until "
                f"{r.start + timedelta(days=policy.heavy_desktop_days - 1)} at the latest)",
            )
        person = researchers.get(r.researcher)
        if person is None:
            if all(p and p.id for p in d.researchers):  # an unreadable one may be meant
                c.add(
                    join(path, "researcher"),
                    "heavy-desktop-researcher",
                    f"{r.researcher!r} is not one of the project's researchers",
                )
            continue
        if person.start and person.end and not person.start <= r.start <= r.end <= person.end:
            c.add(
                path,
                "heavy-desktop-period",
                f"{r.start} to {r.end} is outside {r.researcher}'s period on the project "
                f"({person.start} to {person.end})",
            )
        valid.append((path, r))
    _overlaps_and_extensions(valid, policy, c)
    _at_once(valid, policy, c)


def _overlaps_and_extensions(
    valid: list[tuple[str, HeavyDesktop]], policy: Policy, c: Checker
) -> None:
    """Per researcher, in date order: no overlap; at most N extensions in a row."""
    by_researcher: dict[str, list[tuple[str, HeavyDesktop]]] = {}
    for path, r in valid:
        by_researcher.setdefault(r.researcher, []).append((path, r))
    limit = policy.heavy_desktop_extensions
    for reservations in by_researcher.values():
        reservations.sort(key=lambda pr: (pr[1].start, pr[1].end))
        first_path, first = reservations[0]
        chain_start, extensions, prev_path, prev = first.start, 0, first_path, first
        for path, r in reservations[1:]:
            if r.start <= prev.end:
                c.add(
                    path,
                    "heavy-desktop-overlap",
                    f"overlaps {prev_path} of {r.researcher} ({prev.start} to {prev.end})",
                )
                continue
            if r.start == prev.end + timedelta(days=1):
                extensions += 1
                if extensions > limit:
                    c.add(
                        path,
                        "heavy-desktop-extensions",
                        f"extension {extensions} in a row of {r.researcher}'s reservation from "
                        f"{chain_start}; at most {limit} consecutive extensions",
                    )
            else:
                chain_start, extensions = r.start, 0
            prev_path, prev = path, r


def _at_once(valid: list[tuple[str, HeavyDesktop]], policy: Policy, c: Checker) -> None:
    """At most N researchers on any day: checked on every reservation's first day (the
    number of researchers only grows on such a day)."""
    limit = policy.heavy_desktop_max_researchers
    days: set = set()
    for path, r in valid:
        day = r.start
        using = sorted({o.researcher for _, o in valid if o.start <= day <= o.end})
        if len(using) > limit and day not in days:  # one line per day
            c.add(
                path,
                "heavy-desktop-researchers",
                f"on {day} {len(using)} researchers ({', '.join(using)}) would use the heavy "
                f"desktop; at most {limit} of a project at once",
            )
            days.add(day)
