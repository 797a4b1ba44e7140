"""One user-error hierarchy; the CLI maps it to exit codes in one place."""

from __future__ import annotations

from dataclasses import dataclass, field

from generator.frozen import frozen

EXIT_OK = 0
EXIT_USER_ERROR = 1
EXIT_USAGE = 2
EXIT_BUG = 3
EXIT_OUT_OF_DATE = 4  # `check`: the spec is valid, but generated files are missing, stale or hand-edited
EXIT_UNDETERMINED = 5  # `analyze`: the SLOs could not be judged (Prometheus unreachable, a query refused)
EXIT_INTERRUPTED = 130


@frozen
class Problem:
    """One thing wrong with a spec, located as precisely as we know."""

    file: str
    line: int
    column: int
    path: str  # spec path such as deploy.environments[1].strategy.steps[0].weight; "" for the root
    message: str
    hint: str = ""
    rule: str = ""

    def format(self) -> str:
        where = f"{self.file}:{self.line}:{self.column}"
        text = f"{where}: {self.path or '(root)'}: {self.message}"
        if self.hint:
            text += f"\n    hint: {self.hint}"
        return text

    def to_json(self) -> dict[str, object]:
        return {
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "path": self.path,
            "message": self.message,
            "hint": self.hint,
            "rule": self.rule,
        }


class UserError(Exception):
    """A mistake the user can fix; printed without a traceback, exit 1."""

    exit_code = EXIT_USER_ERROR

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def format(self) -> str:
        return self.message + (f"\n    hint: {self.hint}" if self.hint else "")

    def to_json(self) -> dict[str, object]:
        return {"error": self.message, "hint": self.hint}


class UndeterminedError(UserError):
    """The analysis could not judge the SLOs (no answer from Prometheus, a refused query): neither a
    pass nor a breach, exit 5, so that a pipeline can tell "the canary is bad" from "we could not see"."""

    exit_code = EXIT_UNDETERMINED


class UsageError(UserError):
    exit_code = EXIT_USAGE


@dataclass
class SpecError(UserError):
    """The spec is invalid: carries every problem found, sorted by position."""

    problems: list[Problem] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.problems.sort(key=lambda p: (p.file, p.line, p.column, p.path))
        count = len(self.problems)
        super().__init__(f"{count} problem{'s' if count != 1 else ''} in the spec")

    def format(self) -> str:
        return "\n".join(p.format() for p in self.problems) + f"\n{self.message}"

    def to_json(self) -> dict[str, object]:
        return {"error": self.message, "problems": [p.to_json() for p in self.problems]}


class VerificationError(UserError):
    """A rendered artifact failed verification: nothing was written.

    Not the user's mistake: a spec that validates must render, so an invalid artifact is a bug in
    mlopsgen or its blueprints (exit 3). It is still printed by the one handler, as its message
    (which names each artifact and check) without a traceback, and says it is a bug to report."""

    exit_code = EXIT_BUG
    REPORT_HINT = "this is a bug in mlopsgen or its blueprints; please report it with the spec"

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message, hint or self.REPORT_HINT)

    def format(self) -> str:
        return f"internal error (a bug, exit {EXIT_BUG}): {super().format()}"
