"""`mlopsgen check`: are the generated files present, current and untouched?

Exit codes tell the two failures apart: 1 when the spec itself is invalid (as for every command),
4 (EXIT_OUT_OF_DATE) when the spec is valid but generated files are missing, stale or edited.

When the manifest's digests prove every file current, nothing is rendered (the spec was valid
when those files were rendered from these very bytes, by this version); otherwise the spec is
validated and rendered to name what differs.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import asdict

from generator.commands import emit_json
from generator.deliver import freshness
from generator.deliver.writer import Action, DirectorySnapshot, change_diff
from generator.errors import EXIT_OK, EXIT_OUT_OF_DATE


def run(args: argparse.Namespace) -> int:
    directory = args.dir if args.dir is not None else args.spec.parent
    current = freshness.current_without_rendering(args.spec, directory)
    if current is not None:
        return _report_current(args, current.model, current.files)
    from generator.render.engine import build  # only now: Jinja2, the schema validators and the templates

    result = build(args.spec, directory)
    there = DirectorySnapshot(directory)
    findings = freshness.findings(there, result.files, result.provenance)
    if not findings:
        return _report_current(args, result.spec.name, len(result.files))
    diffs = {f.path: change_diff(c, there) for f, c in findings if c.action is not Action.CONFLICT} \
        if args.diff else {}
    command = f"mlopsgen render {args.spec}" + (f" --out {args.dir}" if args.dir is not None else "")
    edited = any(f.status == "hand-edited" for f, _ in findings)
    if args.format == "json":
        emit_json({"ok": False, "fix": command + (" --force" if edited else ""),
                   "findings": [{**asdict(f), **({"diff": diffs[f.path]} if f.path in diffs else {})}
                                for f, _ in findings]})
    else:
        for f, _ in findings:
            print(f"{f.status:<12} {f.path}: {f.detail}")
            sys.stdout.write(diffs.get(f.path, ""))
        print(f"{len(findings)} generated file(s) out of date. Fix: {command}"
              + ("\n(hand edits: move them into the spec first; render refuses to overwrite them without "
                 "--force)" if edited else ""))
    return EXIT_OUT_OF_DATE


def _report_current(args: argparse.Namespace, model: str, files: int) -> int:
    if args.format == "json":
        emit_json({"ok": True, "fix": None, "findings": []})
    else:
        print(f"{model}: all {files} generated files are current")
    return EXIT_OK
