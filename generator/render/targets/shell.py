"""Shell commands as typed values, quoted when they are joined, for the CI blueprints.

The CI blueprints (gitlab/*.j2, jenkins/*.j2) hold loops and conditionals only: every shell line
they write is built here, from parts whose kind says how each is quoted, so no blueprint joins
strings and no spec value reaches a shell unquoted:

- a fixed word (``str``) mlopsgen writes: a program, a subcommand, an option. It must need no
  quoting (checked), so it reads the same in a shell and in a YAML plain scalar.
- ``Arg``: a value from the spec, one shell word (``shlex.quote``).
- ``Fragment``: fixed shell text mlopsgen writes that is deliberately left unquoted, such as
  ``"$IMAGE:$IMAGE_TAG"`` (an expansion the shell must perform).
- ``Authored``: a whole command line the spec's author wrote (``ci.tests.lint``, ``training.command``):
  shell by design, written as it is.

A line reaches Jenkins as shell text (``.shell``, then the blueprint's ``| groovy``) and GitLab as
the YAML of one ``script:`` item (``.yaml``).
"""

from __future__ import annotations

from generator.frozen import frozen
from generator.render.rendering import shell_word, yaml_scalar


@frozen
class Arg:
    """A spec value: one shell word, quoted when the command is joined."""

    value: str

    @property
    def shell(self) -> str:
        return shell_word(self.value)

    @property
    def plain(self) -> bool:
        """A word the shell reads as it is (no quoting needed)."""
        return self.shell == self.value

    @property
    def yaml(self) -> str:
        # a plain word as a YAML double-quoted fragment of the plain-scalar line: both YAML and the
        # shell read `"value"` back as value (Command.yaml quotes the whole line otherwise)
        return yaml_scalar(self.shell)


@frozen
class Fragment:
    """Fixed shell text written as it is: an expansion such as "$IMAGE_TAG", or a whole fixed line."""

    text: str

    @property
    def shell(self) -> str:
        return self.text

    @property
    def yaml(self) -> str:
        return self.text


@frozen
class Authored:
    """A command line from the spec, shell by design: as it is in shell, a quoted scalar in YAML."""

    text: str

    @property
    def shell(self) -> str:
        return self.text

    @property
    def yaml(self) -> str:
        return yaml_scalar(self.text)


@frozen
class Command:
    """One shell command line: fixed words, spec values and fixed fragments, joined by spaces."""

    parts: tuple[str | Arg | Fragment, ...]

    def __post_init__(self) -> None:
        for part in self.parts:
            if isinstance(part, str) and (not part or shell_word(part) != part):
                raise ValueError(f"fixed word {part!r} needs quoting: pass it as Arg or Fragment")

    @property
    def shell(self) -> str:
        return " ".join(part if isinstance(part, str) else part.shell for part in self.parts)

    @property
    def yaml(self) -> str:
        """One script item: a plain YAML line while every spec value is a plain word; else the whole
        shell line as one YAML double-quoted scalar, which YAML reads back as exactly that shell text
        (a quoted word inside a plain line would reach the shell double-quoted, `$` expanded)."""
        if all(part.plain for part in self.parts if isinstance(part, Arg)):
            return " ".join(part if isinstance(part, str) else part.yaml for part in self.parts)
        return yaml_scalar(self.shell)


def command(*parts: str | Arg | Fragment) -> Command:
    return Command(parts)


Line = Command | Fragment | Authored  # one line of a script
