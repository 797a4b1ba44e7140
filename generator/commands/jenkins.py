"""`mlopsgen jenkins apply`: create or update the model's Jenkins job, idempotently.

This module reads the arguments and the credentials (the API token from JENKINS_TOKEN, never
printed) and prints the outcome; generator/integrations/jenkins.py talks to Jenkins, re-words its
errors and scrubs the token from them, and generator/integrations/jenkins_job.py builds config.xml.
"""

from __future__ import annotations

import argparse
import os

from generator.commands import emit_json
from generator.errors import EXIT_OK, UserError
from generator.integrations.jenkins import TOKEN_VARIABLE, USER_VARIABLE, Connection, apply_job, job_url
from generator.integrations.jenkins_job import RETRAIN_SCRIPT_PATH, SCRIPT_PATH, JobSettings, check_item_name
from generator.spec.intake import load_valid_model


def run(args: argparse.Namespace) -> int:
    if args.jenkins_command == "apply":
        return apply(args)
    raise UserError(f"unknown jenkins command {args.jenkins_command!r}", "see `mlopsgen jenkins --help`")


def _credentials(args: argparse.Namespace) -> tuple[str, str]:
    token = os.environ.get(TOKEN_VARIABLE, "")
    user = args.user or os.environ.get(USER_VARIABLE, "")
    if token and not user:
        raise UserError(f"{TOKEN_VARIABLE} is set but no Jenkins user is given",
                        f"pass --user or set {USER_VARIABLE} to the user the API token belongs to")
    if user and not token:
        raise UserError(f"no API token for Jenkins user {user}",
                        f"set {TOKEN_VARIABLE} to an API token of that user (User > Security > API Token)")
    return user, token


def _jenkinsfile(args: argparse.Namespace) -> str:
    from generator.render.engine import build  # renders in memory; nothing is written

    for rendered in build(args.spec, args.spec.parent).files:
        if rendered.path == (RETRAIN_SCRIPT_PATH if args.retrain else SCRIPT_PATH):
            return rendered.content
    raise UserError(f"{args.spec} renders no Jenkinsfile", "add jenkins to ci.targets")


def apply(args: argparse.Namespace) -> int:
    spec = load_valid_model(args.spec)
    if "jenkins" not in spec.ci.targets:
        raise UserError(f"{args.spec} does not target Jenkins (ci.targets: {', '.join(spec.ci.targets)})",
                        "add jenkins to ci.targets and render the Jenkinsfile first")
    url = args.url.rstrip("/")
    if not url.startswith(("http://", "https://")):
        raise UserError(f"--url {args.url!r} is not an http(s) URL")
    if not args.repo_url.strip():
        raise UserError("--repo-url is empty", "give the clone URL of the model repository holding the Jenkinsfile")
    if args.retrain and (spec.training is None or spec.training.orchestrator != "jenkins"):
        raise UserError(f"{args.spec} does not retrain on Jenkins", "set training.orchestrator: jenkins")
    name = args.job or (f"{spec.metadata.name}-retrain" if args.retrain else spec.metadata.name)
    check_item_name(name, "job")
    for folder in args.folder:
        check_item_name(folder, "folder")
    user, token = _credentials(args)
    settings = JobSettings(name=name.strip(), folders=tuple(f.strip() for f in args.folder),
                           repo_url=args.repo_url.strip(), branch=spec.ci.default_branch,
                           credentials_id=args.scm_credentials, multibranch=args.multibranch,
                           model=spec.metadata.name, script_path=RETRAIN_SCRIPT_PATH if args.retrain else SCRIPT_PATH)
    jenkinsfile = _jenkinsfile(args) if args.lint else None
    action = apply_job(Connection(url, user, token), settings, jenkinsfile, args.dry_run)
    shown_url = job_url(url, settings) + "/"
    if args.format == "json":
        emit_json({"job": settings.full_name, "kind": settings.kind, "url": shown_url, "action": action,
                   "dry_run": args.dry_run, "lint": "passed" if args.lint else "skipped"})
        return EXIT_OK
    if args.lint:
        print("Jenkinsfile: successfully validated by Jenkins")
    if args.dry_run and action != "unchanged":
        action = "would be " + action
    print(f"{settings.kind} job {settings.full_name}: {action} ({shown_url})")
    return EXIT_OK
