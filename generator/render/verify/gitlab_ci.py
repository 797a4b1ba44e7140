"""A .gitlab-ci.yml: GitLab's own CI schema, then what the schema cannot see: every job's stage is
declared, and every `extends` and `needs` names a job that exists."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from generator.artifacts import RenderedFile
from generator.frozen import frozen
from generator.render.verify.base import VerificationContext
from generator.render.verify.json_schemas import best_error, schema_validator
from generator.render.verify.yaml_documents import parsed_documents

# Top-level keys of a pipeline that are not jobs (the Mermaid diagram skips them too).
GITLAB_RESERVED = {"default", "include", "stages", "variables", "workflow", "image", "services", "cache",
                   "before_script", "after_script", "spec"}


@frozen
class GitLabCIVerifier:
    def check(self, file: RenderedFile, context: VerificationContext) -> Iterator[str]:
        docs = yield from parsed_documents(file.content)
        if docs is not None:
            yield from _check_pipeline(docs)


def _check_pipeline(docs: list[Any]) -> Iterator[str]:
    if len(docs) != 1 or not isinstance(docs[0], dict):
        yield "a .gitlab-ci.yml must be one YAML mapping"
        return
    pipeline = docs[0]
    error = best_error(schema_validator("gitlab-ci.json"), pipeline)
    if error:
        yield f"GitLab CI schema: {error}"
    stages = set(pipeline.get("stages", [])) | {".pre", ".post"}
    jobs = {name: job for name, job in pipeline.items() if name not in GITLAB_RESERVED and isinstance(job, dict)}
    for name, job in jobs.items():
        if name.startswith("."):
            continue
        if job.get("stage", "test") not in stages:
            yield f"job '{name}' uses stage '{job.get('stage')}', which is not in stages"
        for parent in _as_list(job.get("extends")):
            if parent not in jobs:
                yield f"job '{name}' extends '{parent}', which does not exist"
        for need in _as_list(job.get("needs")):
            needed = need.get("job") if isinstance(need, dict) else need
            if needed not in jobs or str(needed).startswith("."):
                yield f"job '{name}' needs '{needed}', which does not exist"


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]
