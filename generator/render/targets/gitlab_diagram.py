"""A Mermaid flowchart of a rendered .gitlab-ci.yml: stages as subgraphs, `needs` as edges.
GitLab renders Mermaid in merge request descriptions."""

from __future__ import annotations

import re
from typing import Any

import yaml

from generator.render.verify.gitlab_ci import GITLAB_RESERVED
from generator.yaml_data import Loader  # libyaml's SafeLoader


def _node(name: str) -> str:
    return "j_" + re.sub(r"[^A-Za-z0-9_]", "_", name)


def _label(text: str) -> str:
    return '"' + text.replace('"', "#quot;") + '"'


def pipeline_diagram(gitlab_ci: str) -> str:
    pipeline: dict[str, Any] = yaml.load(gitlab_ci, Loader=Loader) or {}
    jobs = {name: job for name, job in pipeline.items()
            if name not in GITLAB_RESERVED and not name.startswith(".") and isinstance(job, dict)}
    lines = ["flowchart LR"]
    for i, stage in enumerate(pipeline.get("stages", [])):
        members = [name for name, job in jobs.items() if job.get("stage", "test") == stage]
        if not members:
            continue
        lines.append(f"  subgraph s{i}[{_label(stage)}]")
        lines += [f"    {_node(name)}[{_label(name)}]" for name in members]
        lines.append("  end")
    for name, job in jobs.items():
        for need in job.get("needs") or []:
            needed = need.get("job") if isinstance(need, dict) else need
            if needed in jobs:
                lines.append(f"  {_node(needed)} --> {_node(name)}")
    return "\n".join(lines)
