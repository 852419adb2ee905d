"""Notification mail: plain-text templates (nl, en) and one SMTP connection per run.

A template ``templates/<language>/<name>.txt`` starts with two header lines, then a blank line
and the body::

    Subject: Project(en) $projects: einddatum nadert
    Item: - project $project "$title" eindigt op $end

    Beste $name,
    ...
    $items

``Item`` is written once per notice the mail combines (``$items``); ``Subject`` and the body
know ``$name``, ``$projects``, ``$count``, ``$period`` and ``$items``. Substitution is
``string.Template``: a value is inserted as text, never evaluated. Mail bodies carry personal
data: they are never logged; a failure to send is one line without the recipient.
"""

from __future__ import annotations

import smtplib
import ssl
from contextlib import suppress
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path
from string import Template
from typing import Any

from provisioning.errors import ProvisioningError

TEMPLATES = Path(__file__).parent / "templates"
LANGUAGES = ("nl", "en")
DEFAULT_LANGUAGE = "nl"


class MailError(ProvisioningError, RuntimeError):
    """A mail could not be sent: one line naming the server and why, never the recipient."""


@dataclass(frozen=True)
class Recipient:
    email: str
    name: str
    language: str = DEFAULT_LANGUAGE


@dataclass(frozen=True)
class MailTemplate:
    subject: Template
    item: Template
    body: Template


def load_template(name: str, language: str) -> MailTemplate:
    """The template ``name`` in ``language`` (falls back to the default language)."""
    if language not in LANGUAGES:
        language = DEFAULT_LANGUAGE
    text = (TEMPLATES / language / f"{name}.txt").read_text(encoding="utf-8")
    head, _, body = text.partition("\n\n")
    headers = dict(line.split(": ", 1) for line in head.splitlines())
    return MailTemplate(Template(headers["Subject"]), Template(headers["Item"]), Template(body))


def _one_line(value: Any) -> str:
    return " ".join(str(value).split())


def compose(
    template: str,
    recipient: Recipient,
    items: list[dict[str, Any]],
    period: str,
    sender: str,
) -> EmailMessage:
    """One mail to ``recipient`` combining ``items`` (the fields of each notice)."""
    t = load_template(template, recipient.language)
    lines = [t.item.substitute({k: _one_line(v) for k, v in item.items()}) for item in items]
    projects = sorted({str(i["project"]) for i in items if i.get("project")}, key=_number)
    common = {
        "name": _one_line(recipient.name),
        "projects": ", ".join(projects),
        "count": str(len(items)),
        "period": period,
        "items": "\n".join(lines),
    }
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = recipient.email
    msg["Subject"] = _one_line(t.subject.substitute(common))
    msg["Date"] = formatdate(localtime=True)
    msg["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or None)
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content(t.body.substitute(common))
    return msg


def _number(project: str) -> tuple[int, str]:
    return (int(project), "") if project.isdigit() else (0, project)


class Mailer:
    """Sends mails over one SMTP connection, opened at the first mail (STARTTLS if offered)."""

    def __init__(self, host: str, port: int, sender: str, timeout: float = 30) -> None:
        self.host, self.port, self.sender, self.timeout = host, port, sender, timeout
        self._smtp: smtplib.SMTP | None = None
        self.sent = 0

    def _where(self) -> str:
        return f"SMTP {self.host}:{self.port}"

    def send(self, msg: EmailMessage) -> None:
        try:
            if self._smtp is None:
                smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
                smtp.ehlo()
                if smtp.has_extn("starttls"):
                    smtp.starttls(context=ssl.create_default_context())
                    smtp.ehlo()
                self._smtp = smtp
            self._smtp.send_message(msg)
        except smtplib.SMTPResponseException as e:
            self.close()
            raise MailError(f"{self._where()} refused the mail ({e.smtp_code})") from None
        except smtplib.SMTPRecipientsRefused:
            raise MailError(f"{self._where()} refused the recipient") from None
        except (OSError, smtplib.SMTPException) as e:
            self.close()
            why = getattr(e, "strerror", None) or type(e).__name__
            raise MailError(f"{self._where()}: {why}") from None
        self.sent += 1

    def close(self) -> None:
        if self._smtp is not None:
            with suppress(OSError, smtplib.SMTPException):
                self._smtp.quit()
            self._smtp = None
