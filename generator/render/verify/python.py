"""A Python file (Airflow DAGs): the running interpreter compiles it. The conformance tests load the
DAG files in a real Airflow."""

from __future__ import annotations

from collections.abc import Iterator

from generator.artifacts import RenderedFile
from generator.frozen import frozen
from generator.render.verify.base import VerificationContext


@frozen
class PythonVerifier:
    def check(self, file: RenderedFile, context: VerificationContext) -> Iterator[str]:
        try:
            compile(file.content, file.path, "exec", dont_inherit=True)
        except SyntaxError as exc:  # IndentationError and TabError are SyntaxErrors too
            yield f"line {exc.lineno}: {exc.msg}" if exc.lineno else f"not Python source: {exc.msg}"
        except ValueError as exc:  # a NUL byte, before Python 3.11.4
            yield f"not Python source: {exc}"
