"""The command line's grammar: every verb, its arguments, help and examples (build_parser).

Only argparse and the core are imported here: a verb's module is imported when it runs
(generator/cli/__init__.py), so parsing never loads an API client. Each verb's arguments are one
function in DEFINITIONS; a run builds only its own verb's (build_parser(only=...)), so that
`mlopsgen check` pays for neither the other verbs nor the runtime plugins that describe them.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

from generator import __version__
from generator.cli.parser import Parser


def _add_format(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--format", choices=("text", "json"), default="text",
                        help="text for people (default), json for machines")


_GITLAB = "https://gitlab.example.com"
_JENKINS = "--url https://jenkins.example.com --repo-url https://gitlab.example.com/risk/fraud-detector.git"
_SOURCE = "runs:/6c1f0e2b/model"


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The whole grammar; with `only`, the top level and that one verb's arguments (the others by name)."""
    parser = Parser(prog="mlopsgen", description="Render CI/CD/CT pipelines and GitOps manifests from mlops.yaml.",
                    examples=("mlopsgen validate mlops.yaml",
                              "mlopsgen render mlops.yaml --dry-run --diff",
                              "mlopsgen check mlops.yaml --format json",
                              f"mlopsgen sync mlops.yaml --gitlab-url {_GITLAB} --project risk/fraud-detector "
                              "--merge-request"))
    parser.add_argument("--version", action="version", version=f"mlopsgen {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    for name, define in DEFINITIONS.items():
        if only in (None, name):
            define(sub)
        else:  # named only, so that `mlopsgen check` does not build (nor import for) every other grammar
            sub.add_parser(name)
    return parser


def _validate(sub: argparse._SubParsersAction[Parser]) -> None:
    p = sub.add_parser("validate", help="check a spec and report every problem with its position",
                       examples=("mlopsgen validate mlops.yaml",
                                 "mlopsgen validate examples/fraud-detector/mlops.yaml --format json"))
    p.add_argument("spec", type=Path, metavar="SPEC")
    _add_format(p)


def _render(sub: argparse._SubParsersAction[Parser]) -> None:
    p = sub.add_parser("render", help="render every artifact; write only after all of them verify",
                       examples=("mlopsgen render mlops.yaml",
                                 "mlopsgen render mlops.yaml --out build/ --dry-run --diff",
                                 "mlopsgen render mlops.yaml --format json"))
    p.add_argument("spec", type=Path, metavar="SPEC")
    p.add_argument("--out", type=Path, metavar="DIR", help="output directory (default: the spec's directory)")
    p.add_argument("--dry-run", action="store_true", help="say what would change, write nothing")
    _add_diff(p)
    _add_force(p)
    _add_format(p)


def _check(sub: argparse._SubParsersAction[Parser]) -> None:
    p = sub.add_parser("check", help="fail when generated files are missing, stale or hand-edited",
                       examples=("mlopsgen check mlops.yaml",
                                 "mlopsgen check mlops.yaml --dir build/ --diff",
                                 "mlopsgen check mlops.yaml --format json"))
    p.add_argument("spec", type=Path, metavar="SPEC")
    p.add_argument("--dir", type=Path, metavar="DIR", help="directory holding the generated files "
                   "(default: the spec's directory)")
    _add_diff(p)
    _add_format(p)


def _sync(sub: argparse._SubParsersAction[Parser]) -> None:
    p = sub.add_parser("sync", help="render and commit what changed: to the local git repository, or to GitLab",
                       examples=("mlopsgen sync mlops.yaml --dry-run --diff",
                                 f"mlopsgen sync mlops.yaml --gitlab-url {_GITLAB} --project risk/fraud-detector",
                                 f"mlopsgen sync mlops.yaml --gitlab-url {_GITLAB} --project risk/fraud-detector "
                                 "--gitops-project platform/gitops --merge-request"))
    p.add_argument("spec", type=Path, metavar="SPEC", help="the spec at the root of the model repository")
    p.add_argument("--gitlab-url", metavar="URL", help="GitLab to commit through (token: GITLAB_TOKEN or CI_JOB_TOKEN);"
                   " without it the spec's own git repository is used")
    p.add_argument("--project", metavar="GROUP/REPO", help="the model repository on GitLab")
    p.add_argument("--gitops-project", metavar="GROUP/REPO",
                   help="send the GitOps manifests (deploy.gitops.path) to this repository instead")
    p.add_argument("--branch", metavar="BRANCH", help="target branch (default: the repository's default branch)")
    p.add_argument("--merge-request", action="store_true",
                   help="commit to a branch and open (or update) one merge request instead of committing to BRANCH")
    p.add_argument("--mr-branch", metavar="BRANCH", help="branch for --merge-request (default mlopsgen/update)")
    p.add_argument("--dry-run", action="store_true", help="say what would change, commit nothing")
    _add_diff(p)
    _add_force(p)
    _add_format(p)


def _fleet(sub: argparse._SubParsersAction[Parser]) -> None:
    p = sub.add_parser("fleet", help="regenerate many GitLab repositories, one merge request each",
                       examples=(f"mlopsgen fleet --gitlab-url {_GITLAB} --group ml-models --dry-run",
                                 f"mlopsgen fleet --gitlab-url {_GITLAB} --projects-file projects.txt --shard 1/4 "
                                 "--state fleet-state.json",
                                 f"mlopsgen fleet --gitlab-url {_GITLAB} --group ml-models --report fleet.json "
                                 "--format json"))
    p.add_argument("--gitlab-url", required=True, metavar="URL", help="GitLab (token: GITLAB_TOKEN)")
    p.add_argument("--group", metavar="GROUP", help="every project of this group and its subgroups")
    p.add_argument("--projects-file", type=Path, metavar="FILE", help="one 'group/project [branch]' a line")
    p.add_argument("--blueprint-version", metavar="V", help="refuse to run unless this is mlopsgen V")
    p.add_argument("--concurrency", type=int, default=8, metavar="N",
                   help="repositories at a time (default 8); fewer requests are in flight whenever GitLab's "
                   "RateLimit headers say the rate limit's window is running out")
    p.add_argument("--shard", metavar="K/N", help="only the K-th of N stable shards (for parallel CI jobs)")
    p.add_argument("--state", type=Path, metavar="FILE",
                   help="save progress here; a rerun with the same file resumes (default: no state)")
    p.add_argument("--restart", action="store_true", help="ignore the state file's earlier results")
    p.add_argument("--report", type=Path, metavar="FILE", help="write the JSON report here too")
    p.add_argument("--dry-run", action="store_true", help="say what would change, commit nothing")
    p.add_argument("--ci-lint", action="store_true",
                   help="also have each project's CI lint API check a changed .gitlab-ci.yml before committing (one "
                   "more request per changed repository; every pipeline is verified against GitLab's CI schema "
                   "either way)")
    _add_format(p)


def _init(sub: argparse._SubParsersAction[Parser]) -> None:
    from generator.runtimes import spec_names  # the runtime plugins: imported only to describe init

    p = sub.add_parser("init", help="scaffold a model repository: spec, model, tests and rendered pipelines "
                       "(with cookiecutter)",
                       examples=("mlopsgen init",
                                 f"mlopsgen init --no-input name=fraud-detector team=risk runtime={spec_names()[0]} "
                                 "ci=gitlab",
                                 "mlopsgen init --no-input -o ~/src name=churn-predictor framework=xgboost "
                                 "ci=jenkins strategy=canary"))
    p.add_argument("answers", nargs="*", metavar="KEY=VALUE",
                   help="answers to the template's questions: name, team, description, framework, runtime "
                   f"({'|'.join(spec_names())}), ci (gitlab|jenkins|both), case, strategy, registry_provider "
                   "(gitlab|oci), image, gitops_repo")
    p.add_argument("--no-input", action="store_true", help="do not prompt: take KEY=VALUE answers and the defaults")
    p.add_argument("-o", "--output-dir", type=Path, default=Path("."), metavar="DIR",
                   help="where the repository directory is created (default: the current directory)")
    p.add_argument("--overwrite", action="store_true", help="write into an existing repository directory")
    _add_format(p)


def _schema(sub: argparse._SubParsersAction[Parser]) -> None:
    sub.add_parser("schema", help="print the spec's JSON Schema (the reference for every field)",
                   examples=("mlopsgen schema", "mlopsgen schema > mlops.schema.json"))


def _promote(sub: argparse._SubParsersAction[Parser]) -> None:
    from generator.runtimes import able, labels  # the runtime plugins: imported only to describe promote

    p = sub.add_parser("promote", help="move an image tag into an environment's GitOps overlay",
                       examples=("mlopsgen promote --env staging --image-tag 1.4.0",
                                 "mlopsgen promote --env production --image-tag 1.4.0 --traffic 10",
                                 f"mlopsgen promote --env production --image-tag 1.4.0 --gitlab-url {_GITLAB} "
                                 "--project platform/gitops"))
    p.add_argument("--env", required=True, metavar="ENV")
    p.add_argument("--image-tag", required=True, metavar="TAG")
    p.add_argument("--traffic", type=int, default=100, metavar="PERCENT",
                   help="share of traffic for the new version: below 100 a canary, 0 a blue-green preview "
                   f"({labels(able('preview'))}) (default 100)")
    p.add_argument("--shadow", action="store_true",
                   help=f"mirror traffic to the new version without serving its answers ({labels(able('shadow'))})")
    _add_release_location(p)
    _add_format(p)


def _rollback(sub: argparse._SubParsersAction[Parser]) -> None:
    p = sub.add_parser("rollback", help="restore the last known-good version in an environment",
                       examples=("mlopsgen rollback --env production",
                                 "mlopsgen rollback --env staging --dir gitops/apps/fraud-detector",
                                 f"mlopsgen rollback --env production --gitlab-url {_GITLAB} "
                                 "--project platform/gitops"))
    p.add_argument("--env", required=True, metavar="ENV")
    _add_release_location(p)
    _add_format(p)


def _gate(sub: argparse._SubParsersAction[Parser]) -> None:
    p = sub.add_parser("gate", help="check model-validation metrics against the spec's thresholds",
                       examples=("mlopsgen gate mlops.yaml --metrics metrics.json",
                                 "mlopsgen gate mlops.yaml --metrics reports/metrics.json --format json"))
    p.add_argument("spec", type=Path, metavar="SPEC")
    p.add_argument("--metrics", type=Path, required=True, metavar="FILE", help="JSON object of metric values")
    _add_format(p)


def _data_check(sub: argparse._SubParsersAction[Parser]) -> None:
    p = sub.add_parser("data-check", help="continuous training: check the training data before a run; "
                       "any failure, or data that cannot be read, fails",
                       examples=("mlopsgen data-check mlops.yaml",
                                 "mlopsgen data-check mlops.yaml --data data/train.csv --reference data/reference.csv "
                                 "--report data-check.json"))
    p.add_argument("spec", type=Path, metavar="SPEC")
    p.add_argument("--data", type=Path, metavar="FILE", help="default: training.dataChecks.path of the spec")
    p.add_argument("--reference", type=Path, metavar="FILE",
                   help="reference data for the drift check (default: training.dataChecks.drift.reference)")
    p.add_argument("--report", type=Path, metavar="FILE", help="also write the JSON report here")
    _add_format(p)


def _evaluate(sub: argparse._SubParsersAction[Parser]) -> None:
    p = sub.add_parser("evaluate", help="continuous training: the gate of a retrained model, its thresholds "
                       "and its comparison with the production (champion) model",
                       examples=("mlopsgen evaluate mlops.yaml --challenger challenger.json --champion champion.json",
                                 "mlopsgen evaluate mlops.yaml --challenger challenger.json --champion champion.json "
                                 "--report evaluate.json --markdown evaluate.md"))
    p.add_argument("spec", type=Path, metavar="SPEC")
    p.add_argument("--challenger", type=Path, required=True, metavar="FILE",
                   help="metrics (JSON object) of the retrained model")
    p.add_argument("--champion", type=Path, required=True, metavar="FILE",
                   help="metrics of the production model on the same data")
    p.add_argument("--report", type=Path, metavar="FILE", help="write the JSON report here")
    p.add_argument("--markdown", type=Path, metavar="FILE",
                   help="write the report as Markdown here (the merge request description uses it)")
    _add_format(p)


def _registry(sub: argparse._SubParsersAction[Parser]) -> None:
    p = sub.add_parser("registry", help="continuous training: the model registry (MLflow)",
                       examples=(f"mlopsgen registry register mlops.yaml --source {_SOURCE} --output registered.json",
                                 "mlopsgen registry check mlops.yaml",
                                 "mlopsgen registry alias mlops.yaml --alias champion"))
    registry = p.add_subparsers(dest="registry_command", metavar="ACTION", parser_class=Parser, required=True)
    p = registry.add_parser("register", help="register a trained model as a new version and give it the "
                            "challenger alias (token: MLFLOW_TRACKING_TOKEN, or MLFLOW_TRACKING_USERNAME/PASSWORD)",
                            examples=(f"mlopsgen registry register mlops.yaml --source {_SOURCE} --run-id 6c1f0e2b",
                                      f"mlopsgen registry register mlops.yaml --source {_SOURCE} "
                                      "--report evaluate.json --output registered.json",
                                      f"mlopsgen registry register mlops.yaml --source {_SOURCE} "
                                      "--tracking-uri https://mlflow.example.com"))
    p.add_argument("spec", type=Path, metavar="SPEC")
    p.add_argument("--source", required=True, metavar="URI",
                   help="the model: runs:/<run>/<name> (MLflow 3: resolved to the run's logged model), "
                        "models:/m-<id> (a logged model), or where the training run wrote it (s3://...)")
    p.add_argument("--run-id", metavar="ID", help="the MLflow run that produced it (runs:/ and models:/m-... "
                                                  "sources name their run)")
    p.add_argument("--report", type=Path, metavar="FILE",
                   help="the evaluate report: its metrics become tags of the version")
    p.add_argument("--output", type=Path, metavar="FILE",
                   help="write the registered version as JSON here (name, version, uri)")
    _add_tracking_uri(p)
    _add_format(p)
    p = registry.add_parser("check", help="fail unless the spec's model version is registered and READY",
                            examples=("mlopsgen registry check mlops.yaml",
                                      "mlopsgen registry check mlops.yaml --tracking-uri https://mlflow.example.com "
                                      "--format json"))
    p.add_argument("spec", type=Path, metavar="SPEC")
    _add_tracking_uri(p)
    _add_format(p)
    p = registry.add_parser("alias", help="point an alias (such as champion) at the spec's model version",
                            examples=("mlopsgen registry alias mlops.yaml",
                                      "mlopsgen registry alias mlops.yaml --alias staging"))
    p.add_argument("spec", type=Path, metavar="SPEC")
    p.add_argument("--alias", metavar="NAME", help="default: training.registry.aliases.champion")
    _add_tracking_uri(p)
    _add_format(p)


def _propose(sub: argparse._SubParsersAction[Parser]) -> None:
    p = sub.add_parser("propose", help="continuous training: bump the spec to a registered model version, "
                       "re-render, and open a merge request with the gate report",
                       examples=("mlopsgen propose mlops.yaml --registered registered.json --dry-run",
                                 "mlopsgen propose mlops.yaml --registered registered.json --report evaluate.md",
                                 "mlopsgen propose mlops.yaml --registered registered.json --report evaluate.md "
                                 f"--gitlab-url {_GITLAB} --project risk/fraud-detector"))
    p.add_argument("spec", type=Path, metavar="SPEC")
    p.add_argument("--registered", type=Path, required=True, metavar="FILE",
                   help="the JSON written by `mlopsgen registry register --output`")
    p.add_argument("--report", type=Path, metavar="FILE", help="the evaluate report (Markdown) for the description")
    p.add_argument("--gitlab-url", metavar="URL", help="GitLab to open the merge request on (token: GITLAB_TOKEN); "
                   "without it a branch of the spec's own git repository")
    p.add_argument("--project", metavar="GROUP/REPO", help="the model repository on GitLab")
    p.add_argument("--branch", metavar="BRANCH", help="target branch (default: the repository's default branch)")
    p.add_argument("--dry-run", action="store_true", help="say what would change, commit nothing")
    _add_format(p)


def _analyze(sub: argparse._SubParsersAction[Parser]) -> None:
    p = sub.add_parser("analyze", help="query Prometheus for the spec's SLOs in one environment",
                       examples=("mlopsgen analyze mlops.yaml --env production",
                                 "mlopsgen analyze mlops.yaml --env production --release 1.4.0",
                                 "mlopsgen analyze mlops.yaml --env staging --prometheus-url "
                                 "http://prometheus.monitoring:9090 --no-data inconclusive --format json"))
    p.add_argument("spec", type=Path, metavar="SPEC")
    p.add_argument("--env", required=True, metavar="ENV")
    p.add_argument("--prometheus-url", metavar="URL", help="default: monitoring.prometheus.url of the spec")
    p.add_argument("--release", metavar="TAG", help="measure only the pods of this release (image tag or "
                   "reference), judging relative SLOs against the other pods; default: the whole model")
    p.add_argument("--at", metavar="TIME", help="evaluate at this time (RFC 3339 or Unix seconds; default: now)")
    p.add_argument("--no-data", choices=("fail", "pass", "inconclusive"),
                   help="verdict on no data or NaN for every SLO (default: each SLO's noData)")
    _add_format(p)


def _jenkins(sub: argparse._SubParsersAction[Parser]) -> None:
    p = sub.add_parser("jenkins", help="manage the model's Jenkins job",
                       examples=(f"mlopsgen jenkins apply mlops.yaml {_JENKINS} --dry-run",
                                 f"mlopsgen jenkins apply mlops.yaml {_JENKINS} --multibranch --lint"))
    jenkins = p.add_subparsers(dest="jenkins_command", metavar="ACTION", parser_class=Parser, required=True)
    p = jenkins.add_parser("apply", help="create or update the Jenkins job that runs the rendered Jenkinsfile "
                           "(API token from JENKINS_TOKEN)",
                           examples=(f"mlopsgen jenkins apply mlops.yaml {_JENKINS} --dry-run",
                                     f"mlopsgen jenkins apply mlops.yaml {_JENKINS} --folder ml --folder risk "
                                     "--multibranch --lint",
                                     f"mlopsgen jenkins apply mlops.yaml {_JENKINS} --retrain "
                                     "--scm-credentials gitlab-clone"))
    p.add_argument("spec", type=Path, metavar="SPEC")
    p.add_argument("--url", required=True, metavar="URL", help="root URL of Jenkins")
    p.add_argument("--repo-url", required=True, metavar="URL",
                   help="clone URL of the model repository holding the Jenkinsfile")
    p.add_argument("--job", metavar="NAME", help="job name (default: metadata.name of the spec)")
    p.add_argument("--folder", action="append", default=[], metavar="FOLDER",
                   help="existing folder holding the job; repeat for nested folders, outermost first")
    p.add_argument("--user", metavar="USER", help="Jenkins user owning the API token (default: $JENKINS_USER)")
    p.add_argument("--scm-credentials", metavar="ID", help="Jenkins credentials id used to clone --repo-url")
    p.add_argument("--multibranch", action="store_true",
                   help="a multibranch project building every branch with a Jenkinsfile")
    p.add_argument("--retrain", action="store_true",
                   help="the continuous-training job instead: <job>-retrain running Jenkinsfile.retrain "
                   "(training.orchestrator: jenkins)")
    p.add_argument("--lint", action="store_true",
                   help="validate the rendered Jenkinsfile with Jenkins' linter first; stop on errors")
    p.add_argument("--dry-run", action="store_true", help="say what would change, change nothing")
    _add_format(p)


def _completion(sub: argparse._SubParsersAction[Parser]) -> None:
    from generator.cli.completion import SHELLS

    p = sub.add_parser("completion", help="print a shell completion script for bash, zsh or fish",
                       examples=('eval "$(mlopsgen completion bash)"',
                                 "mlopsgen completion bash > ~/.local/share/bash-completion/completions/mlopsgen",
                                 'mlopsgen completion zsh > "${fpath[1]}/_mlopsgen"',
                                 "mlopsgen completion fish > ~/.config/fish/completions/mlopsgen.fish"))
    p.add_argument("shell", choices=SHELLS, metavar="SHELL", help="bash, zsh or fish")


# verb -> the function that defines its arguments, in the order `mlopsgen --help` lists them
DEFINITIONS: dict[str, Callable[[argparse._SubParsersAction[Parser]], None]] = {
    "validate": _validate,
    "render": _render,
    "check": _check,
    "sync": _sync,
    "fleet": _fleet,
    "init": _init,
    "schema": _schema,
    "promote": _promote,
    "rollback": _rollback,
    "gate": _gate,
    "data-check": _data_check,
    "evaluate": _evaluate,
    "registry": _registry,
    "propose": _propose,
    "analyze": _analyze,
    "jenkins": _jenkins,
    "completion": _completion,
}



def _add_diff(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--diff", action="store_true",
                        help="show a unified diff of every file that differs (as `kubectl diff` does)")


def _add_force(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--force", action="store_true",
                        help="overwrite or delete generated files even where they were edited by hand")


def _add_tracking_uri(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--tracking-uri", metavar="URL",
                        help="MLflow (default: $MLFLOW_TRACKING_URI, then training.registry.trackingUri of the spec)")


def _add_release_location(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dir", type=Path, metavar="DIR",
                        help="the model's GitOps directory holding overlays/ (default: deploy.gitops.path of --spec)")
    parser.add_argument("--spec", type=Path, default=Path("mlops.yaml"), metavar="SPEC",
                        help="spec used to find --dir / --path when they are not given (default mlops.yaml)")
    parser.add_argument("--gitlab-url", metavar="URL",
                        help="commit the change to the GitOps repository through GitLab (token: GITLAB_TOKEN)")
    parser.add_argument("--project", metavar="GROUP/REPO", help="with --gitlab-url: the GitOps repository")
    parser.add_argument("--path", metavar="DIR", help="with --gitlab-url: the model's directory in it "
                        "(default: deploy.gitops.path of --spec)")
    parser.add_argument("--branch", metavar="BRANCH", help="with --gitlab-url: the branch Argo CD tracks "
                        "(default: the repository's default branch)")
