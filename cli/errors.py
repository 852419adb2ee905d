"""click's own error path: the project's errors become click exceptions at one place.

Commands raise ``provisioning.errors.ProvisioningError`` (or a click exception) and never
exit themselves; :class:`TreGroup` turns what the domain raised into a click exception and
click's standalone ``main`` prints it and exits:

- ``ProblemsError`` (contract, policy, revision): every problem on its own line, exit 1;
- any other ``ProvisioningError``: one ``Error: ...`` line, exit 1;
- ``KeyboardInterrupt``: ``Interrupted.``, exit 130 (``Abort``, e.g. a declined prompt:
  click's ``Aborted!``, exit 1); a bad argument or option is click's ``UsageError``, exit 2.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import IO, Any, Protocol

import click

from provisioning.errors import ProblemsError, ProvisioningError


class Problem(Protocol):
    def line(self) -> str: ...


def echo_problems(
    problems: Iterable[Problem], *, err: bool = True, file: IO[Any] | None = None
) -> None:
    """The one printer of problems: one line each (stderr unless it is the report itself)."""
    for problem in problems:
        click.echo(problem.line(), file=file, err=err)


class ProblemsFailure(click.ClickException):
    """Input with problems: each problem on its own line (no ``Error:`` prefix), exit 1."""

    exit_code = 1

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__(f"{len(problems)} problem(s)")
        self.problems = problems

    def show(self, file: IO[Any] | None = None) -> None:
        echo_problems(self.problems, file=file)


class InterruptedFailure(click.ClickException):
    """Ctrl-C while a command ran: ``Interrupted.``, exit 130 (128 + SIGINT)."""

    exit_code = 130

    def __init__(self) -> None:
        super().__init__("Interrupted.")

    def show(self, file: IO[Any] | None = None) -> None:
        click.echo(self.message, file=file, err=file is None)


class TreGroup(click.Group):
    """A group whose ``invoke`` maps the project's errors to click exceptions (see above)."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ProvisioningError as e:
            if isinstance(e, ProblemsError) and e.problems:
                raise ProblemsFailure(e.problems) from None
            failure = click.ClickException(str(e))
            failure.exit_code = e.exit_code
            raise failure from None
        except KeyboardInterrupt:
            raise InterruptedFailure() from None
