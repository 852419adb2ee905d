"""One exception root; the CLI maps these to exit codes (see ``provisioning.cli``).

Messages are one line, name what is wrong and why, and never carry a secret.
"""

from __future__ import annotations


class ProvisioningError(Exception):
    """Root of every error the toolkit raises on purpose. Exit code 1 at the CLI."""

    exit_code = 1


class UsageError(ProvisioningError, ValueError):
    """A bad command-line argument or option value. Exit code 2."""

    exit_code = 2


class ContractError(ProvisioningError, ValueError):
    """A contract (or several) is invalid; ``problems`` lists every problem found."""

    def __init__(self, problems: list) -> None:  # list[Problem]
        self.problems = problems
        first = problems[0].line() if problems else "invalid contract"
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        super().__init__(first + more)


class PolicyError(ContractError):
    """The policy file is invalid."""


class InventoryError(ProvisioningError, ValueError):
    """The inventory is missing or incomplete."""


class LabError(ProvisioningError, RuntimeError):
    """The lab could not be brought up, checked or taken down."""


class RunError(ProvisioningError, RuntimeError):
    """An Ansible run failed; the message is the first failing task's one-line reason."""


class StateError(ProvisioningError, RuntimeError):
    """The state store is unreadable, or a revision breaks a rule against what was applied."""
