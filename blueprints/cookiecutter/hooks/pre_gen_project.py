"""Check answers typed at cookiecutter's prompts before anything is generated (mlopsgen init checks
its own command-line answers before cookiecutter runs). A non-zero exit writes nothing."""

import re
import sys

DNS_LABEL = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
IMAGE = re.compile(r"^[a-z0-9]([a-z0-9._/:-]*[a-z0-9])?$")
ANSWERS = {
    "name": {{ cookiecutter.name | tojson }},
    "team": {{ cookiecutter.team | tojson }},
    "image": {{ cookiecutter.image | tojson }},
    "gitops_repo": {{ cookiecutter.gitops_repo | tojson }},
}


def main() -> int:
    problems = []
    for key in ("name", "team"):
        if not DNS_LABEL.match(ANSWERS[key]) or len(ANSWERS[key]) > 40:
            problems.append(f"{key}={ANSWERS[key]!r} is not a DNS-1123 label of at most 40 characters")
    if not IMAGE.match(ANSWERS["image"]):
        problems.append(f"image={ANSWERS['image']!r} is not an image repository without a tag")
    if not re.match(r"^(https://|ssh://|git@)\S+$", ANSWERS["gitops_repo"]):
        problems.append(f"gitops_repo={ANSWERS['gitops_repo']!r} is not a git URL")
    for line in problems:
        print("mlopsgen init: " + line, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
