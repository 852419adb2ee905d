"""One exception root; the CLI maps these to exit codes (``cli/errors.py``).

A bad command-line argument is the CLI's to refuse (click's ``UsageError``, exit 2); the
domain raises these, all exit 1.

Messages are one line, name what is wrong and why, and never carry a secret.
"""

from __future__ import annotations


class ProvisioningError(Exception):
    """Root of every error the toolkit raises on purpose. Exit code 1 at the CLI."""

    exit_code = 1


class ProblemsError(ProvisioningError, ValueError):
    """Input with problems; ``problems`` lists every one found (each has ``line()``)."""

    what = "invalid input"

    def __init__(self, problems: list) -> None:  # list[Problem] or list[RevisionProblem]
        self.problems = problems
        first = problems[0].line() if problems else self.what
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        super().__init__(first + more)


class ContractError(ProblemsError):
    """A contract (or several) is invalid."""

    what = "invalid contract"


class PolicyError(ProblemsError):
    """The policy file is invalid."""

    what = "invalid policy"


class RevisionError(ProblemsError):
    """A contract revision breaks a rule against what was applied (the state store)."""

    what = "revision refused"


class NotApprovedError(ProvisioningError, ValueError):
    """A contract that may not be planned or applied: not approved, or its project twice."""


class InventoryError(ProvisioningError, ValueError):
    """The inventory is missing or incomplete."""


class LabError(ProvisioningError, RuntimeError):
    """The lab could not be brought up, checked or taken down."""


class RunError(ProvisioningError, RuntimeError):
    """An Ansible run failed; the message is the first failing task's one-line reason."""


class StateError(ProvisioningError, RuntimeError):
    """The state store is unreadable, or a revision breaks a rule against what was applied."""


class MeasureError(ProvisioningError, ValueError):
    """A storage measurement was asked for something that is not a project number."""


class MetricsError(ProvisioningError, RuntimeError):
    """The metrics textfile could not be written (directory missing, not writable, full)."""
