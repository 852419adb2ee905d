"""The lab's SMTP server: aiosmtpd storing every message in a maildir. Runs as its own process:

    python -m provisioning.lab.smtp_server --host 127.0.10.2 --port 25 \
        --maildir /var/lib/tre-lab/mail --pidfile /var/lib/tre-lab/run/smtp.pid
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import threading
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Mailbox

log = logging.getLogger("tre-lab-smtp")


class LoggingMailbox(Mailbox):
    """aiosmtpd's maildir handler, logging one line per message (no bodies)."""

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's name
        result = await super().handle_DATA(server, session, envelope)
        log.info(
            "stored mail from %s to %s (%d bytes)",
            envelope.mail_from,
            ",".join(envelope.rcpt_tos),
            len(envelope.original_content or b""),
        )
        return result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--maildir", type=Path, required=True)
    parser.add_argument("--pidfile", type=Path, required=True)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")

    for sub in ("tmp", "new", "cur"):
        (args.maildir / sub).mkdir(parents=True, exist_ok=True)
    controller = Controller(
        LoggingMailbox(str(args.maildir)),
        hostname=args.host,
        port=args.port,
        server_hostname="smtp.lab.example.org",
    )
    controller.start()
    args.pidfile.write_text(f"{os.getpid()}\n")
    log.info("listening on %s:%d, maildir %s", args.host, args.port, args.maildir)

    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    stop.wait()
    controller.stop()
    args.pidfile.unlink(missing_ok=True)
    log.info("stopped")


if __name__ == "__main__":
    main()
