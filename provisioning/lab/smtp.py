"""Start/stop the lab's SMTP server (``smtp_server``) as a background process with a pidfile."""

from __future__ import annotations

import importlib.util
import smtplib
import subprocess
import sys

from provisioning.errors import LabError

from .config import SMTP_ADDRESS, SMTP_PORT, LabConfig
from .proc import Report, ensure_free, exited, read_pid, stop_pid, wait_for


def pidfile(cfg: LabConfig):
    return cfg.run_dir / "smtp.pid"


def answers() -> bool:
    try:
        with smtplib.SMTP(SMTP_ADDRESS, SMTP_PORT, timeout=2) as smtp:
            return smtp.ehlo("up.tre-lab")[0] == 250
    except (OSError, smtplib.SMTPException):
        return False


def ensure(cfg: LabConfig, report: Report) -> None:
    for sub in ("tmp", "new", "cur"):  # a maildir is these three folders
        (cfg.mail_dir / sub).mkdir(parents=True, exist_ok=True)
    if read_pid(pidfile(cfg)) is not None:
        if answers():
            return
        stop_pid(pidfile(cfg))  # alive but deaf: start afresh
    if importlib.util.find_spec("aiosmtpd") is None:
        raise LabError(
            "the lab's SMTP server needs aiosmtpd (a dependency of tre): pip install aiosmtpd"
        )
    cfg.run_dir.mkdir(parents=True, exist_ok=True)
    cfg.log_dir.mkdir(parents=True, exist_ok=True)
    pidfile(cfg).unlink(missing_ok=True)
    ensure_free(SMTP_ADDRESS, SMTP_PORT, "the SMTP server")
    with open(cfg.log_dir / "smtp.log", "ab") as logf:
        subprocess.Popen(
            [
                sys.executable, "-m", "provisioning.lab.smtp_server",
                "--host", SMTP_ADDRESS, "--port", str(SMTP_PORT),
                "--maildir", str(cfg.mail_dir), "--pidfile", str(pidfile(cfg)),
            ],
            stdin=subprocess.DEVNULL, stdout=logf, stderr=subprocess.STDOUT,
            start_new_session=True, close_fds=True,
        )  # fmt: skip
    wait_for(lambda: read_pid(pidfile(cfg)) is not None and answers(),
             f"the SMTP server on {SMTP_ADDRESS}:{SMTP_PORT} (see {cfg.log_dir}/smtp.log)",
             timeout=20, died=exited(pidfile(cfg), cfg.log_dir / "smtp.log"))  # fmt: skip
    report.did(f"started the SMTP server on {SMTP_ADDRESS}:{SMTP_PORT} (maildir {cfg.mail_dir})")


def teardown(cfg: LabConfig, report: Report) -> None:
    if stop_pid(pidfile(cfg)):
        report.did("stopped the SMTP server")
