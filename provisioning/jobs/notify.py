"""Notices: what a job tells whom, sent once per subject and period (docs/jobs.md).

A job hands ``deliver`` its notices (subject, period, recipients, fields). A notice already
recorded for its (subject, period) is skipped. The rest are combined per recipient address:
one mail per person per job run, whatever the number of projects the person is in. After
each mail, one record per notice it carried and recipient (``<subject>><address hash>``);
once every recipient of a notice has its mail, the notice itself is recorded.

So a run killed after a mail left and before its record sends that one mail again on the
next run, and no other: at most one duplicate per mail in flight.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from provisioning.state import StateStore

from .mail import Mailer, MailError, Recipient, compose


@dataclass(frozen=True)
class Notice:
    subject: str  # what the record is about: a project number, "workspace:<account>", ...
    period: str  # the period it is for, e.g. "2026-W49" or "2027-01-31/42d"
    recipients: tuple[Recipient, ...]
    fields: Mapping[str, Any]  # the template's item fields


@dataclass
class Delivery:
    mails: int = 0
    notices: int = 0  # notices completed (recorded) in this run
    skipped: int = 0  # notices already done before this run
    failures: list[str] = field(default_factory=list)


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def address_key(email: str) -> str:
    """A recipient in a record: a hash of the address, not the address."""
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()[:16]


def deliver(
    job: str,
    template: str,
    notices: list[Notice],
    store: StateStore,
    mailer: Mailer,
    period: str,
    result: str = "mailed",
) -> Delivery:
    """Send what is not done yet, combined per recipient; record as it goes.

    ``period`` is the job run's period (for the template).
    """
    out = Delivery()
    periods = sorted({n.period for n in notices})
    done = store.done_subjects(job, periods)
    pending = [n for n in notices if (n.subject, n.period) not in done]
    out.skipped = len(notices) - len(pending)
    by_address: dict[str, tuple[Recipient, list[Notice]]] = {}
    for n in pending:
        for r in n.recipients:
            key = address_key(r.email)
            if (f"{n.subject}>{key}", n.period) in done:
                continue  # this person had this notice (a run killed before the notice's record)
            by_address.setdefault(key, (r, []))[1].append(n)
    failed: set[str] = set()
    for key, (recipient, carried) in by_address.items():
        msg = compose(template, recipient, [dict(n.fields) for n in carried], period, mailer.sender)
        try:
            mailer.send(msg)
        except MailError as e:
            out.failures.append(f"{job}: a mail of {len(carried)} notice(s) not sent: {e}")
            failed.add(key)
            continue
        out.mails += 1
        store.record_job(
            job,
            [(f"{n.subject}>{key}", n.period, str(msg["Message-ID"])) for n in carried],
            now(),
        )
    complete = [n for n in pending if not any(address_key(r.email) in failed for r in n.recipients)]
    store.record_job(
        job, [(n.subject, n.period, f"{result} {len(n.recipients)}") for n in complete], now()
    )
    out.notices = len(complete)
    return out
