"""Run the real third-party validators on a directory of rendered artifacts.

Every verdict comes from a third-party tool or an official schema (schemas/vendor/, see its
SOURCES.md); the file classification and tool invocations follow the reference check-artifacts:
GitLab CI (yamllint, check-jsonschema vendor.gitlab-ci, gitlab-ci-local --list-all), Jenkinsfiles
(Groovy 2.4 parse, npm-groovy-lint recommended-jenkinsfile), Dockerfiles (hadolint, DL3006/DL3007/
DL3014 as errors), shell (shellcheck -S warning), kustomizations (kubectl kustomize, then the built
objects), YAML (yamllint relaxed, then core kinds with kubernetes-validate --strict, CRDs with
schemas/vendor/<group>/<kind>_<version>.json with the root closed plus ObjectMeta; other kinds fail).

gitlab-ci-local, npm-groovy-lint, groovy and git are optional on a developer machine: files needing
a missing one are SKIP "skipped: <tool> not installed", but FAIL when CI is set. Other tools are
required: missing means FAIL.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import jsonschema  # type: ignore[import-untyped,unused-ignore]
import yaml

REPO = Path(__file__).resolve().parents[2]
VENDOR_SCHEMAS = REPO / "schemas" / "vendor"
K8S_VERSION = "1.30.0"
NODE_BIN_DIRS = (REPO / ".tools" / "node" / "node_modules" / ".bin",
                 Path("/opt/ci-checkers/node/node_modules/.bin"))
REQUIRED_TOOLS = ("yamllint", "check-jsonschema", "hadolint", "shellcheck", "kubectl")
OPTIONAL_TOOLS = ("gitlab-ci-local", "npm-groovy-lint", "groovy", "git")
HADOLINT_ERROR_RULES = ("DL3006", "DL3007", "DL3014")
YAMLLINT_CONFIG = ("{extends: relaxed, rules: {line-length: disable, empty-lines: disable,"
                   " trailing-spaces: {level: warning}, new-line-at-end-of-file: {level: warning},"
                   " new-lines: {level: warning}}}")
SKIP_DIRS = {".git", ".gitlab-ci-local", "node_modules", "__pycache__", ".venv", "venv", ".tox",
             ".mypy_cache", ".pytest_cache", ".ruff_cache", ".tools"}
SHELL_SHEBANG = re.compile(rb"^#!\s*(/usr)?/bin/(env\s+)?(ba|da|k|z)?sh\b")
TIMEOUT = 300
# One JVM parses every Jenkinsfile given as argument; prints "<index>\tOK" or "<index>\tERR <msg>".
GROOVY_PARSE = (
    "args.eachWithIndex { f, i -> try { def cu = new org.codehaus.groovy.control.CompilationUnit();"
    " cu.addSource('Jenkinsfile', new File(f).getText('UTF-8'));"
    " cu.compile(org.codehaus.groovy.control.Phases.CONVERSION); println(i + '\\tOK') }"
    " catch (Exception e) { println(i + '\\tERR ' + e.message.replace('\\n', ' | ')) } }")

Status = Literal["PASS", "FAIL", "SKIP"]


@dataclass(frozen=True)
class Result:
    path: str  # relative to the checked root, with "/" separators
    status: Status
    tool: str  # the tool that failed (FAIL), the tools that ran (PASS), or the missing one (SKIP)
    message: str = ""
    missing_tool: str | None = None  # set when SKIP/FAIL is due to a tool that is not installed

    def __str__(self) -> str:
        return f"{self.status} {self.path} [{self.tool}] {self.message}".rstrip()


class CheckFailed(Exception):
    """A tool rejected the file: args are (tool, message)."""


class ToolMissing(Exception):
    """args[0] is the name of a tool that is not installed."""


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def find_tool(name: str) -> str | None:
    """PATH, then <repo>/.tools/node/node_modules/.bin, then /opt/ci-checkers/node/node_modules/.bin."""
    for path in (None, *map(str, NODE_BIN_DIRS)):
        found = shutil.which(name, path=path)
        if found:
            return found
    return None


def missing_tools() -> dict[str, bool]:
    """Tools not found, mapped to whether they are required (True) or optional (False)."""
    missing = {t: True for t in REQUIRED_TOOLS if not find_tool(t)}
    if importlib.util.find_spec("kubernetes_validate") is None:
        missing["kubernetes_validate"] = True
    missing.update({t: False for t in OPTIONAL_TOOLS if not find_tool(t)})
    return missing


def _env() -> dict[str, str]:
    env = dict(os.environ, NO_COLOR="1", FORCE_COLOR="0", BC_SKIP_MAPPING="TRUE")
    java = shutil.which("java")
    if not env.get("JAVA_HOME") and java:
        env["JAVA_HOME"] = str(Path(java).resolve().parent.parent)
    return env


def need(name: str) -> str:
    path = find_tool(name)
    if not path:
        raise ToolMissing(name)
    return path


def run(cmd: Sequence[str], cwd: Path | None = None) -> tuple[int, str, str]:
    try:
        p = subprocess.run(list(cmd), cwd=cwd, env=_env(), capture_output=True, timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        return 124, "", f"timed out after {TIMEOUT}s"
    return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")


def first_line(*texts: str) -> str:
    for text in texts:
        for line in text.splitlines():
            if line.strip():
                return line.strip()
    return "(no output)"


def oneline(text: object, limit: int = 300) -> str:
    s = " ".join(str(text).split())
    return s if len(s) <= limit else s[: limit - 3] + "..."


# ----------------------------------------------------------------------------- per-tool checks
# Each raises CheckFailed(tool, message) or ToolMissing(tool); returning means the tool is happy.

def yamllint(path: Path) -> None:
    rc, out, err = run([need("yamllint"), "-f", "parsable", "-d", YAMLLINT_CONFIG, str(path)])
    if rc != 0:
        errors = [line.split(":", 1)[1] for line in out.splitlines() if "[error]" in line]
        raise CheckFailed("yamllint", errors[0] if errors else first_line(out, err))


def gitlab_schema(path: Path) -> None:
    rc, out, err = run([need("check-jsonschema"), "--builtin-schema", "vendor.gitlab-ci",
                        "--data-transform", "gitlab-ci", "-o", "JSON", str(path)])
    if rc == 0:
        return
    msg = first_line(out, err)
    try:
        res = json.loads(out)
        errs = [f"parse error: {e.get('message')}" for e in res.get("parse_errors", [])]
        errs += [f"{e.get('path')}: {e.get('message')}" for e in res.get("errors", [])]
        msg = errs[0] if errs else msg
    except ValueError:
        pass
    raise CheckFailed("check-jsonschema", oneline(msg))


# gitlab-ci-local progress/noise lines, skipped when looking for the error
GCL_NOISE = ("parsing and downloads finished", "json schema validated", "Unable to retrieve",
             "Command failed with exit code", "fatal:", "For further troubleshooting", "Copy the content of",
             "--ignore-schema-paths", "--json-schema-validation", "Using fallback", "at ")


def _gcl_checkout(path: Path, work: Path, branch: str = "main") -> None:
    """A git repository holding path's directory, on branch, with origin/main as gitlab-ci-local wants."""
    git = need("git")
    shutil.copytree(path.parent, work, symlinks=True, ignore=shutil.ignore_patterns(*SKIP_DIRS))
    cfg = ["-c", "user.name=conformance", "-c", "user.email=conformance@invalid",
           "-c", "init.defaultBranch=main", "-c", "commit.gpgsign=false"]
    for cmd in (["init", "-q"], ["checkout", "-q", "-B", "main"], ["add", "-A"],
                ["commit", "-q", "--allow-empty", "-m", "rendered"],
                ["remote", "add", "origin", "https://gitlab.invalid/group/project.git"],
                ["update-ref", "refs/remotes/origin/main", "HEAD"],
                ["symbolic-ref", "refs/remotes/origin/HEAD", "refs/remotes/origin/main"],
                ["checkout", "-q", "-B", branch]):
        rc, out, err = run([git, *cfg, *cmd], cwd=work)
        if rc != 0:
            raise CheckFailed("git", f"git {cmd[0]}: {first_line(err, out)}")


def gitlab_ci_local_jobs(path: Path, variables: dict[str, str], branch: str = "main") -> list[dict[str, Any]]:
    """The jobs a pipeline with these predefined variables runs (rules and workflow evaluated by
    gitlab-ci-local), in file order: [{"name", "stage", "when", "needs"}]. Also checks that every
    job needed by a running job runs too."""
    gcl = need("gitlab-ci-local")
    flags = [arg for key, value in sorted(variables.items()) for arg in ("--variable", f"{key}={value}")]
    ignore = ",".join(sorted(variables))
    with tempfile.TemporaryDirectory(prefix="mlopsgen-gcl-") as tmp:
        work = Path(tmp) / "repo"
        _gcl_checkout(path, work, branch)
        common = ["--cwd", ".", "--file", path.name, "--home", str(Path(tmp) / "home"), "--no-color",
                  "--ignore-predefined-vars", ignore, *flags]
        rc, out, err = run([gcl, *common, "--list-csv"], cwd=work)
        if rc != 0:
            raise CheckFailed("gitlab-ci-local", first_line(err, out))
        rc2, out2, err2 = run([gcl, *common, "--validate-dependency-chain"], cwd=work)
        if rc2 != 0:
            raise CheckFailed("gitlab-ci-local", "dependency chain: " + first_line(err2, out2))
    rows = [line.split(";") for line in out.splitlines() if line.count(";") == 5]
    header, *jobs = rows
    assert header == ["name", "stage", "when", "allowFailure", "environment", "needs"], header
    return [{"name": r[0], "stage": r[1], "when": r[2],
             "needs": [n for n in r[5].strip("[]").split(",") if n]} for r in jobs]


def gitlab_ci_local(path: Path) -> None:
    gcl = need("gitlab-ci-local")
    with tempfile.TemporaryDirectory(prefix="mlopsgen-gcl-") as tmp:
        work = Path(tmp) / "repo"
        _gcl_checkout(path, work)
        rc, out, err = run([gcl, "--cwd", ".", "--file", path.name, "--list-all",
                            "--no-evaluate-rule-changes", "--home", str(Path(tmp) / "home"),
                            "--no-color"], cwd=work)
    if rc == 0:
        return
    lines = [ln.strip().lstrip("\u2022").strip() for ln in (out + "\n" + err).splitlines()]
    marker = "Invalid .gitlab-ci.yml configuration!"
    after = lines[lines.index(marker) + 1:] if marker in lines else []
    useful = [ln for ln in after if ln] or [ln for ln in lines if ln and not ln.startswith(GCL_NOISE)]
    raise CheckFailed("gitlab-ci-local", useful[0] if useful else first_line(out, err))


def groovy_parse(paths: Sequence[Path]) -> dict[Path, str | None]:
    """Parse every Jenkinsfile with Groovy 2.4 in one JVM; {path: error or None}."""
    rc, out, err = run([need("groovy"), "-e", GROOVY_PARSE, *map(str, paths)])
    found = dict(re.findall(r"^(\d+)\t(.*)$", out, re.M))
    results: dict[Path, str | None] = {}
    for i, p in enumerate(paths):
        line = found.get(str(i))
        if line is None:
            results[p] = f"groovy exited {rc}: {first_line(err, out)}"
        elif line == "OK":
            results[p] = None
        else:
            m = re.search(r"Jenkinsfile: (\d+): (.*?)(?: \| |$)", line)
            results[p] = f"line {m.group(1)}: {m.group(2)}" if m else oneline(line[4:])
    return results


def npm_groovy_lint(paths: Sequence[Path]) -> dict[Path, str | None]:
    """CodeNarc on several Jenkinsfiles in one JVM start; {path: first error or None}."""
    rc, out, err = run([need("npm-groovy-lint"), "--noserver", "--config", "recommended-jenkinsfile",
                        "--failon", "error", "--output", "json", *map(str, paths)])
    results: dict[Path, str | None] = dict.fromkeys(paths)
    try:
        files = json.loads(out[out.index("{"):]).get("files", {})
    except ValueError:
        return results if rc == 0 else {p: f"npm-groovy-lint: {first_line(err, out)}" for p in paths}
    for p in paths:
        entry = files.get(str(p)) or files.get(os.path.realpath(p)) or {}
        errs = [e for e in entry.get("errors", []) if e.get("severity") == "error"]
        if errs:
            results[p] = f"line {errs[0].get('line')}: {errs[0].get('rule')}: {errs[0].get('msg')}"
    if rc != 0 and not any(results.values()):
        return {p: f"npm-groovy-lint exited {rc}: {first_line(err)}" for p in paths}
    return results


def hadolint(path: Path) -> None:
    cmd = [need("hadolint"), "--no-color", "-f", "json", "--failure-threshold", "error"]
    for rule in HADOLINT_ERROR_RULES:
        cmd += ["--error", rule]
    rc, out, err = run([*cmd, str(path)])
    if rc == 0:
        return
    try:
        errs = [f for f in json.loads(out) if f.get("level") == "error"]
        if errs:
            raise CheckFailed("hadolint", f"line {errs[0]['line']}: {errs[0]['code']} {errs[0]['message']}")
    except ValueError:
        pass
    raise CheckFailed("hadolint", first_line(out, err))


def shellcheck(path: Path) -> None:
    rc, out, err = run([need("shellcheck"), "--severity=warning", "-f", "gcc", str(path)])
    if rc != 0:
        raise CheckFailed("shellcheck", first_line(out, err).removeprefix(f"{path}:"))


# ----------------------------------------------------------------------------- Kubernetes objects

class K8sValidator:
    """Core kinds via kubernetes-validate (strict); CRDs via schemas/vendor; other kinds fail."""

    def __init__(self, schema_dir: Path = VENDOR_SCHEMAS, k8s_version: str = K8S_VERSION) -> None:
        self.schema_dir, self.k8s_version = schema_dir, k8s_version
        self._lock = threading.Lock()
        self._validators: dict[Path, Any] = {}

    def _validator(self, path: Path, close_root: bool) -> Any:
        with self._lock:
            if path not in self._validators:
                schema = json.loads(path.read_text(encoding="utf-8"))
                # the converter leaves the CRD root open; the API server rejects unknown root fields
                if close_root and "properties" in schema and "additionalProperties" not in schema:
                    schema["additionalProperties"] = False
                cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft7Validator)
                self._validators[path] = cls(schema)
            return self._validators[path]

    def _best_error(self, path: Path, instance: Any, close_root: bool, base: str = "") -> str | None:
        err = jsonschema.exceptions.best_match(self._validator(path, close_root).iter_errors(instance))
        if err is None:
            return None
        where = ".".join([base] * bool(base) + [str(x) for x in err.absolute_path]) or "(root)"
        return f"{where}: {oneline(err.message, 240)}"

    def validate(self, obj: dict[str, Any]) -> str:
        """Returns the tool that judged obj; raises CheckFailed."""
        api_version, kind = obj.get("apiVersion"), obj.get("kind")
        name = f"{kind}/{(obj.get('metadata') or {}).get('name', '?')}"
        if not isinstance(api_version, str) or not isinstance(kind, str):
            raise CheckFailed("k8s", f"{name}: apiVersion and kind must both be strings")
        group, _, version = api_version.rpartition("/")
        crd = self.schema_dir / group / f"{kind.lower()}_{version}.json"
        if group and crd.is_file():
            tool = f"jsonschema:{group}/{crd.name}"
            err = self._best_error(crd, obj, close_root=True)
            if err:
                raise CheckFailed(tool, f"{name}: {err}")
            if isinstance(obj.get("metadata"), dict):
                meta = self.schema_dir / "kubernetes" / "objectmeta.json"
                err = self._best_error(meta, obj["metadata"], close_root=False, base="metadata")
                if err:
                    raise CheckFailed("jsonschema:kubernetes/objectmeta.json", f"{name}: {err}")
            return tool
        try:
            import kubernetes_validate  # type: ignore[import-untyped,unused-ignore]
            from kubernetes_validate import utils as kvu  # type: ignore[import-untyped,unused-ignore]
        except ImportError as e:
            raise ToolMissing("kubernetes_validate") from e
        try:
            kubernetes_validate.validate(obj, self.k8s_version, strict=True)
        except kvu.SchemaNotFoundError as e:
            raise CheckFailed("schema-lookup", f"{name}: no schema for {api_version} {kind} "
                              f"(Kubernetes {self.k8s_version} or {self.schema_dir})") from e
        except kvu.ValidationError as e:
            where = ".".join(str(x) for x in e.absolute_path) or "(root)"
            raise CheckFailed("kubernetes-validate", f"{name}: {where}: {oneline(e.message, 240)}") from e
        return "kubernetes-validate"

    def validate_docs(self, docs: Iterable[Any], prefix: str = "") -> list[str]:
        tools: list[str] = []
        for doc in docs:
            if not is_k8s_doc(doc) or str(doc.get("apiVersion", "")).startswith("kustomize.config.k8s.io/"):
                continue
            try:
                tool = self.validate(doc)
            except CheckFailed as e:
                raise CheckFailed(e.args[0], prefix + e.args[1]) from None
            if tool not in tools:
                tools.append(tool)
        return tools


def is_k8s_doc(doc: Any) -> bool:
    return isinstance(doc, dict) and ("kind" in doc or ("apiVersion" in doc and "metadata" in doc))


def load_yaml_docs(text: str) -> list[Any]:
    return [d for d in yaml.safe_load_all(text) if d is not None]


# ----------------------------------------------------------------------------- classification

def classify(path: Path) -> str | None:
    name, low = path.name, path.name.lower()
    if low in (".gitlab-ci.yml", ".gitlab-ci.yaml") or low.endswith((".gitlab-ci.yml", ".gitlab-ci.yaml")):
        return "gitlab-ci"
    if name.startswith("Jenkinsfile") or low.endswith(".jenkinsfile"):
        return "jenkinsfile"
    if low.startswith(("dockerfile", "containerfile")) or low.endswith((".dockerfile", ".containerfile")):
        return "dockerfile"
    if name in ("kustomization.yaml", "kustomization.yml", "Kustomization"):
        return "kustomization"
    if low.endswith((".yaml", ".yml")):
        return "yaml"
    if low.endswith((".sh", ".bash")):
        return "shell"
    with path.open("rb") as f:
        return "shell" if SHELL_SHEBANG.match(f.readline(200)) else None


def kustomize_patch_files(kfile: Path) -> set[Path]:
    """Files a kustomization uses as patches: partial objects, checked through the build."""
    try:
        docs = load_yaml_docs(kfile.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return set()
    k = docs[0] if docs and isinstance(docs[0], dict) else {}
    paths = [p["path"] for key in ("patches", "patchesJson6902", "replacements")
             for p in k.get(key) or [] if isinstance(p, dict) and isinstance(p.get("path"), str)]
    paths += [p for p in k.get("patchesStrategicMerge") or []
              if isinstance(p, str) and "\n" not in p and ":" not in p]
    return {Path(os.path.normpath(kfile.parent / p)) for p in paths}


def collect(root: Path) -> list[Path]:
    files = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS)
        files += [Path(dirpath) / f for f in sorted(filenames)
                  if (Path(dirpath) / f).is_file() and not (Path(dirpath) / f).is_symlink()]
    return files


# ----------------------------------------------------------------------------- driver

def check_tree(root: Path, *, groovy_lint: bool = True, k8s_version: str = K8S_VERSION,
               schema_dir: Path = VENDOR_SCHEMAS) -> list[Result]:
    """Validate every recognised file under root; one Result per file, sorted by path."""
    root = Path(root).resolve()
    files = [(p, classify(p)) for p in collect(root)]
    patches = set().union(*(kustomize_patch_files(p) for p, k in files if k == "kustomization"))
    k8s = K8sValidator(schema_dir, k8s_version)
    jenkinsfiles = [p for p, k in files if k == "jenkinsfile"]
    parse: dict[Path, str | None] = {}  # Jenkinsfile -> groovy parse error
    lint: dict[Path, str | None] = {}  # Jenkinsfile -> npm-groovy-lint error
    jenkins_missing: list[str] = []  # optional Jenkinsfile tools that are not installed

    def check_jenkinsfiles() -> None:
        try:
            try:
                parse.update(groovy_parse(jenkinsfiles) if jenkinsfiles else {})
            except ToolMissing as e:
                jenkins_missing.append(e.args[0])
            to_lint = [p for p in jenkinsfiles if not parse.get(p)]
            if groovy_lint and to_lint:
                try:
                    lint.update(npm_groovy_lint(to_lint))
                except ToolMissing as e:
                    jenkins_missing.append(e.args[0])
        except Exception as e:  # noqa: BLE001 - never let a Jenkinsfile pass unchecked
            parse.update({p: f"internal error: {oneline(repr(e))}" for p in jenkinsfiles})

    def check_file(path: Path, kind: str | None) -> str:
        """Returns the tools that passed; raises CheckFailed / ToolMissing."""
        if kind == "gitlab-ci":
            yamllint(path)
            gitlab_schema(path)
            gitlab_ci_local(path)
            return "yamllint+check-jsonschema+gitlab-ci-local"
        if kind == "jenkinsfile":
            thread.join()
            if parse.get(path):
                raise CheckFailed("groovy-parse", parse[path])
            if lint.get(path):
                raise CheckFailed("npm-groovy-lint", lint[path])
            if jenkins_missing:
                raise ToolMissing(jenkins_missing[0])
            return "groovy-parse+npm-groovy-lint" if groovy_lint else "groovy-parse"
        if kind == "dockerfile":
            hadolint(path)
            return "hadolint"
        if kind == "shell":
            shellcheck(path)
            return "shellcheck"
        yamllint(path)
        if kind == "yaml" and path in patches:
            return "yamllint (kustomize patch: checked through the build)"
        if kind == "kustomization":
            docs = load_yaml_docs(path.read_text(encoding="utf-8"))
            if docs and isinstance(docs[0], dict) and docs[0].get("kind") == "Component":
                return "yamllint (kustomize Component)"
            rc, out, err = run([need("kubectl"), "kustomize", str(path.parent)])
            if rc != 0:
                text = " ".join(ln for ln in err.splitlines() if ln.strip() and "command failed" not in ln)
                raise CheckFailed("kubectl-kustomize", oneline(text or first_line(err, out)))
            return "+".join(["kubectl-kustomize", *k8s.validate_docs(load_yaml_docs(out), "built ")])
        try:
            docs = load_yaml_docs(path.read_text(encoding="utf-8"))
        except yaml.YAMLError as e:
            raise CheckFailed("pyyaml", oneline(e)) from e
        return "+".join(["yamllint", *k8s.validate_docs(docs)])

    def check(item: tuple[Path, str | None]) -> Result:
        path, kind = item
        rel = path.relative_to(root).as_posix()
        if kind is None:
            return Result(rel, "SKIP", "-", "not a recognised artifact type")
        try:
            return Result(rel, "PASS", check_file(path, kind))
        except CheckFailed as e:
            return Result(rel, "FAIL", e.args[0], e.args[1])
        except ToolMissing as e:
            tool = e.args[0]
            if tool in OPTIONAL_TOOLS and not in_ci():
                return Result(rel, "SKIP", tool, f"skipped: {tool} not installed", missing_tool=tool)
            why = " (CI is set: optional tools are required)" if tool in OPTIONAL_TOOLS else ""
            return Result(rel, "FAIL", tool, f"{tool} not installed{why}", missing_tool=tool)
        except Exception as e:  # noqa: BLE001 - one broken file must not hide the others
            return Result(rel, "FAIL", "validators", f"internal error: {oneline(repr(e))}")

    thread = threading.Thread(target=check_jenkinsfiles, daemon=True)
    thread.start()
    with ThreadPoolExecutor(max_workers=min(8, (os.cpu_count() or 2) * 2)) as pool:
        results = list(pool.map(check, files))
    thread.join()
    return sorted(results, key=lambda r: r.path)


def failures(results: Iterable[Result]) -> list[Result]:
    return [r for r in results if r.status == "FAIL"]


def report(results: Iterable[Result]) -> str:
    return "\n".join(str(r) for r in results)


# ----------------------------------------------------------------------------- pytest helpers


def require_tool(name: str) -> str:
    """The tool's path for a test that cannot run without it: missing, the test fails when CI is
    set (the CI image installs it, .ci/install-tools) and is skipped otherwise."""
    import pytest

    path = find_tool(name)
    if path:
        return path
    if in_ci():
        pytest.fail(f"{name} is not installed (CI is set; install it with .ci/install-tools)")
    pytest.skip(f"skipped: {name} not installed (install with .ci/install-tools)")


def assert_results_conform(results: Sequence[Result]) -> None:
    """pytest.fail listing every FAIL; pytest.skip when only missing optional tools (outside CI)
    kept some files from being fully checked."""
    import pytest

    failed = failures(results)
    if failed:
        pytest.fail(f"{len(failed)} artifact(s) rejected by the validators:\n{report(failed)}",
                    pytrace=False)
    missing = sorted({r.missing_tool for r in results if r.status == "SKIP" and r.missing_tool})
    if missing:
        pytest.skip("skipped: " + ", ".join(f"{t} not installed" for t in missing)
                    + " (install with .ci/install-tools)")


def assert_tree_conforms(root: Path | str, **kwargs: Any) -> list[Result]:
    """Run check_tree(root) and assert every artifact passes (see assert_results_conform)."""
    results = check_tree(Path(root), **kwargs)
    assert_results_conform(results)
    return results
