"""The command line as a user meets it: exit codes, output formats, start-up imports."""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from conftest import FRAUD_FILES, CliResult

from generator import __version__
from generator.cli import COMMANDS, build_parser, main
from generator.cli.completion import command_tree, completion_script

REPO = Path(__file__).resolve().parent.parent
FRAUD = REPO / "examples/fraud-detector/mlops.yaml"
HEAVY = ("gitlab", "jenkinsapi", "cookiecutter")


def run_cli(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    return subprocess.run([sys.executable, "-m", "generator", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=120, check=False)


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["--version"])
    assert caught.value.code == 0
    assert capsys.readouterr().out.strip() == f"mlopsgen {__version__}"


@pytest.mark.parametrize("argv", [[], ["render"], ["frobnicate"], ["render", "x.yaml", "--format", "xml"],
                                  ["promote", "--env", "prod"]])
def test_usage_errors_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    assert "mlopsgen: mlopsgen" not in captured.err


def test_validate_json_for_a_valid_spec(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(FRAUD), "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out) == {"valid": True, "file": str(FRAUD), "problems": [], "warnings": []}


def test_schema_prints_the_json_schema(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"


def test_python_dash_m_and_render_into_the_spec_directory(tmp_path: Path) -> None:
    spec = tmp_path / "mlops.yaml"
    spec.write_bytes(FRAUD.read_bytes())
    result = run_cli("render", str(spec))
    assert result.returncode == 0, result.stderr
    assert (tmp_path / ".gitlab-ci.yml").is_file()
    assert f"fraud-detector: {FRAUD_FILES} files" in result.stderr
    assert "  production: 3-10 replicas x (1 CPU, 2Gi) = 3 CPU, 6Gi up to 10 CPU, 20Gi" in result.stderr
    assert run_cli("check", str(spec)).returncode == 0


@pytest.mark.parametrize("command", ["render", "validate", "check"])
def test_core_commands_do_not_import_api_clients(command: str, tmp_path: Path) -> None:
    spec = tmp_path / "mlops.yaml"
    spec.write_bytes(FRAUD.read_bytes())
    probe = (
        "import sys\n"
        "from generator.cli import main\n"
        f"code = main([{command!r}, {str(spec)!r}])\n"
        f"loaded = sorted(m for m in sys.modules if m.split('.')[0] in {HEAVY!r})\n"
        "print('LOADED', loaded)\n"
    )
    result = subprocess.run([sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, timeout=120,
                            check=False)
    assert "LOADED []" in result.stdout, result.stdout + result.stderr


def test_a_bug_is_exit_3_with_a_traceback(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    import generator.commands.validate as validate

    def boom(_args: object) -> int:
        raise RuntimeError("boom")

    monkeypatch.setattr(validate, "run", boom)
    assert main(["validate", str(FRAUD)]) == 3
    err = capsys.readouterr().err
    assert "Traceback" in err and "internal error" in err


def test_interrupt_is_exit_130(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    import generator.commands.validate as validate

    def interrupted(_args: object) -> int:
        raise KeyboardInterrupt

    monkeypatch.setattr(validate, "run", interrupted)
    assert main(["validate", str(FRAUD)]) == 130
    assert "interrupted" in capsys.readouterr().err


def parsers(parser: argparse.ArgumentParser | None = None) -> Iterator[tuple[list[str], argparse.ArgumentParser]]:
    """(["registry", "check"], its parser) for the top level and every subcommand, nested ones too."""
    parser = parser or build_parser()
    yield [], parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                for path, nested in parsers(sub):
                    yield [name, *path], nested


def test_every_parser_is_walked_and_every_verb_is_a_command() -> None:
    paths = [" ".join(path) for path, _ in parsers()]
    assert {"", "render", "registry register", "registry check", "registry alias", "jenkins apply",
            "completion"} <= set(paths)
    assert {path.split(" ")[0] for path in paths if path} == set(COMMANDS)


def example_argv(line: str) -> list[str]:
    """The mlopsgen arguments of an example line: `eval "$(mlopsgen ...)"` unwrapped, `> FILE` dropped."""
    words = shlex.split(line)
    if words[0] == "eval":
        words = shlex.split(words[1].removeprefix("$(").removesuffix(")"))
    if ">" in words:
        words = words[:words.index(">")]
    assert words[0] == "mlopsgen", line
    return words[1:]


@pytest.mark.parametrize("path", [path for path, _ in parsers()], ids=lambda path: " ".join(path) or "mlopsgen")
def test_help_ends_with_examples_that_parse(path: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        main([*path, "--help"])
    assert caught.value.code == 0
    help_text = capsys.readouterr().out
    head, sep, examples = help_text.rpartition("\nexamples:\n")
    assert sep and head, help_text
    lines = examples.rstrip("\n").split("\n")
    assert 2 <= len(lines) <= 4, lines
    prog = " ".join(["mlopsgen", *path])
    for line in lines:
        assert line.startswith("  ") and prog in line, line
        argv = example_argv(line.strip())
        assert argv[:len(path)] == path, line
        build_parser().parse_args(argv)  # a realistic example is at least a valid command line


def test_option_help_is_still_wrapped_while_examples_keep_their_lines(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["sync", "--help"])
    help_text = capsys.readouterr().out
    assert "  --gitlab-url URL" in help_text
    assert "GitLab to commit through (token: GITLAB_TOKEN or CI_JOB_TOKEN); without it the spec's own git " \
        "repository is used" not in help_text  # wrapped by the formatter as before
    assert "\n  mlopsgen sync mlops.yaml --gitlab-url https://gitlab.example.com --project risk/fraud-detector " \
        "--gitops-project platform/gitops --merge-request\n" in help_text


# --- usage errors: one prog prefix, the closest valid name suggested --------------------------------------

@pytest.mark.parametrize(("argv", "message"), [
    (["rendr", "x.yaml"],
     "mlopsgen: argument COMMAND: invalid choice: 'rendr' (did you mean 'render'?)\n    hint: see `mlopsgen --help`"),
    (["render", "x.yaml", "--dry-rn"],
     "mlopsgen render: unrecognized arguments: --dry-rn (did you mean --dry-run?)\n"
     "    hint: see `mlopsgen render --help`"),
    (["render", "--dry-rn=yes", "x.yaml"],
     "mlopsgen render: unrecognized arguments: --dry-rn=yes (did you mean --dry-run?)\n"
     "    hint: see `mlopsgen render --help`"),
    (["render", "x.yaml", "--dry-rn", "--fromat", "json"],
     "mlopsgen render: unrecognized arguments: --dry-rn --fromat json (did you mean --dry-run for --dry-rn, "
     "--format for --fromat?)\n    hint: see `mlopsgen render --help`"),
    (["render", "x.yaml", "--format", "jsn"],
     "mlopsgen render: argument --format: invalid choice: 'jsn' (did you mean 'json'?)\n"
     "    hint: see `mlopsgen render --help`"),
    (["render", "x.yaml", "--format", "xml"],
     "mlopsgen render: argument --format: invalid choice: 'xml' (choose from 'text', 'json')\n"
     "    hint: see `mlopsgen render --help`"),
    (["registry", "regster", "x.yaml"],
     "mlopsgen registry: argument ACTION: invalid choice: 'regster' (did you mean 'register'?)\n"
     "    hint: see `mlopsgen registry --help`"),
    (["registry", "check", "x.yaml", "--traking-uri", "https://mlflow.example.com"],
     "mlopsgen registry check: unrecognized arguments: --traking-uri https://mlflow.example.com "
     "(did you mean --tracking-uri?)\n    hint: see `mlopsgen registry check --help`"),
    (["jenkins", "aply", "x.yaml"],
     "mlopsgen jenkins: argument ACTION: invalid choice: 'aply' (did you mean 'apply'?)\n"
     "    hint: see `mlopsgen jenkins --help`"),
    (["--verison"], "mlopsgen: unrecognized arguments: --verison (did you mean --version?)\n"
     "    hint: see `mlopsgen --help`"),
    (["render", "a.yaml", "b.yaml"], "mlopsgen render: unrecognized arguments: b.yaml\n"
     "    hint: see `mlopsgen render --help`"),
    (["registry"], "mlopsgen registry: the following arguments are required: ACTION\n"
     "    hint: see `mlopsgen registry --help`"),
    (["completion", "bsh"], "mlopsgen completion: argument SHELL: invalid choice: 'bsh' (did you mean 'bash'?)\n"
     "    hint: see `mlopsgen completion --help`"),
    (["completion", "powershell"],
     "mlopsgen completion: argument SHELL: invalid choice: 'powershell' (choose from 'bash', 'zsh', 'fish')\n"
     "    hint: see `mlopsgen completion --help`"),
])
def test_usage_error_message(argv: list[str], message: str, cli: Callable[..., CliResult]) -> None:
    result = cli(*argv)
    assert (result.code, result.out, result.err) == (2, "", message + "\n")


def test_an_unknown_command_without_a_close_match_lists_the_commands(cli: Callable[..., CliResult]) -> None:
    result = cli("frobnicate")
    assert result.code == 2
    assert result.err.startswith("mlopsgen: argument COMMAND: invalid choice: 'frobnicate' (choose from 'validate', ")
    assert "did you mean" not in result.err


@pytest.mark.parametrize("json_option", [["--format", "json"], ["--format=json"]])
def test_a_usage_error_in_a_json_run_is_json(json_option: list[str], cli: Callable[..., CliResult]) -> None:
    result = cli("render", "x.yaml", "--dry-rn", *json_option)
    assert (result.code, result.err) == (2, "")
    assert json.loads(result.out) == {
        "error": "mlopsgen render: unrecognized arguments: --dry-rn (did you mean --dry-run?)",
        "hint": "see `mlopsgen render --help`",
    }


def test_a_usage_error_raised_by_a_command_keeps_its_one_prefix(tmp_path: Path, cli: Callable[..., CliResult]) -> None:
    missing = tmp_path / "mlops.yaml"
    result = cli("rollback", "--env", "production", "--spec", missing)
    assert (result.code, result.out) == (2, "")
    assert result.err == (f"mlopsgen: --dir not given and no spec at {missing}\n"
                          "    hint: pass --dir DIR or --spec SPEC\n")
    as_json = cli("rollback", "--env", "production", "--spec", missing, "--format", "json")
    assert (as_json.code, json.loads(as_json.out)) == (2, {"error": f"--dir not given and no spec at {missing}",
                                                           "hint": "pass --dir DIR or --spec SPEC"})


# --- shell completion ------------------------------------------------------------------------------------

def completion(shell: str, tmp_path: Path, cli: Callable[..., CliResult]) -> Path:
    result = cli("completion", shell)
    assert (result.code, result.err) == (0, ""), result.text
    script = tmp_path / f"mlopsgen.{shell}"
    script.write_text(result.out, encoding="utf-8")
    return script


def bash_complete(script: Path, *words: str) -> list[str]:
    """COMPREPLY of the bash completion for `mlopsgen WORDS...`, the cursor on the last word."""
    probe = 'source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _mlopsgen; printf "%s\\n" "${COMPREPLY[@]}"'
    result = subprocess.run(["bash", "--norc", "--noprofile", "-c", probe, "bash", str(script), "mlopsgen", *words],
                            capture_output=True, text=True, timeout=60, check=False)
    assert (result.returncode, result.stderr) == (0, ""), result.stderr
    return [line for line in result.stdout.split("\n") if line]


@pytest.fixture
def bash_script(tmp_path: Path, cli: Callable[..., CliResult]) -> Path:
    if shutil.which("bash") is None:
        pytest.skip("bash is not installed")
    return completion("bash", tmp_path, cli)


def test_bash_completion_is_valid_bash(bash_script: Path) -> None:
    result = subprocess.run(["bash", "-n", str(bash_script)], capture_output=True, text=True, timeout=60, check=False)
    assert (result.returncode, result.stderr) == (0, "")


@pytest.mark.parametrize(("words", "expected"), [
    (["ren"], ["render"]),
    (["render", "--dr"], ["--dry-run"]),
    (["registry", ""], ["register", "check", "alias"]),
    (["registry", "check", "--tr"], ["--tracking-uri"]),
    (["render", "x.yaml", "--format", ""], ["text", "json"]),
    (["render", "x.yaml", "--format", "=", "j"], ["json"]),  # --format=j: bash splits the = off
    (["analyze", "x.yaml", "--no-data", "p"], ["pass"]),
    (["completion", ""], ["bash", "zsh", "fish"]),
    (["jenkins", "apply", "x.yaml", "--url", "check", "--mul"], ["--multibranch"]),  # an option's value is skipped
    (["render", "--out", "check", ""], []),  # a value, not a command: bash then completes file names
    (["render", "x.yaml", ""], []),
])
def test_bash_completes(words: list[str], expected: list[str], bash_script: Path) -> None:
    assert bash_complete(bash_script, *words) == expected


def test_bash_completes_every_command_and_option_of_the_parser(bash_script: Path) -> None:
    for path, parser in parsers():
        tree = command_tree(parser, ("mlopsgen", *path))
        assert bash_complete(bash_script, *path, "") == [s.path[-1] for s in tree.subcommands] + list(tree.choices)
        flags = [flag for option in tree.options for flag in option.flags]
        assert bash_complete(bash_script, *path, "-") == flags, path
        for flag in flags:
            assert flag in bash_complete(bash_script, *path, flag), (path, flag)


def test_completion_follows_the_parser_it_is_given(tmp_path: Path) -> None:
    if shutil.which("bash") is None:
        pytest.skip("bash is not installed")
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    sub.add_parser("frobnicate", help="a verb added later").add_argument("--wibble", choices=("on", "off"))
    script = tmp_path / "mlopsgen.bash"
    script.write_text(completion_script("bash", parser), encoding="utf-8")
    assert bash_complete(script, "frob") == ["frobnicate"]
    assert bash_complete(script, "frobnicate", "--wibble", "") == ["on", "off"]
    for shell in ("zsh", "fish"):
        text = completion_script(shell, parser)
        assert "frobnicate" in text and "wibble" in text and "on off" in text, shell


def test_completion_refuses_a_name_it_cannot_put_in_a_script_unquoted() -> None:
    parser = argparse.ArgumentParser(prog="mlopsgen")
    parser.add_subparsers().add_parser("x;rm")
    with pytest.raises(ValueError, match="'x;rm' cannot be completed"):
        completion_script("bash", parser)


@pytest.mark.parametrize("shell", ["zsh", "fish"])
def test_zsh_and_fish_scripts_name_every_command_and_option(shell: str, tmp_path: Path,
                                                            cli: Callable[..., CliResult]) -> None:
    text = completion(shell, tmp_path, cli).read_text(encoding="utf-8")
    for path, parser in parsers():
        for name in path:
            assert name in text, (shell, path)
        for action in parser._actions:
            for flag in action.option_strings:
                assert (flag.lstrip("-") if shell == "fish" else flag) in text, (shell, path, flag)


@pytest.mark.parametrize("shell", ["zsh", "fish"])
def test_zsh_and_fish_scripts_are_valid(shell: str, tmp_path: Path, cli: Callable[..., CliResult]) -> None:
    if shutil.which(shell) is None:
        pytest.skip(f"{shell} is not installed")
    script = completion(shell, tmp_path, cli)
    check = ["zsh", "-n", str(script)] if shell == "zsh" else ["fish", "--no-execute", str(script)]
    result = subprocess.run(check, capture_output=True, text=True, timeout=60, check=False)
    assert (result.returncode, result.stderr) == (0, "")


# compadd, _describe and _files stubbed: what the zsh function offers for `mlopsgen WORDS...`
ZSH_PROBE = """
compdef() { :; }
source "$1"; shift
compadd() { print -rl -- "${(@P)2}"; }
_describe() { print -rl -- "${(@)${(@P)4}%%:*}"; }
_files() { print -r -- '(files)'; }
compset() { :; }
words=(mlopsgen "$@"); CURRENT=$#words
_mlopsgen
"""


@pytest.mark.parametrize(("words", "expected"), [
    (["registry", ""], ["register", "check", "alias"]),
    (["render", "x.yaml", "--format", ""], ["text", "json"]),
    (["render", "x.yaml", "--format=j"], ["text", "json"]),  # compset strips --format=, zsh then matches j
    (["render", "--out", ""], ["(files)"]),
    (["render", ""], ["(files)"]),
    (["completion", ""], ["bash", "zsh", "fish"]),
    (["analyze", "x.yaml", "--env", ""], []),
])
def test_zsh_completes(words: list[str], expected: list[str], tmp_path: Path, cli: Callable[..., CliResult]) -> None:
    if shutil.which("zsh") is None:
        pytest.skip("zsh is not installed")
    script = completion("zsh", tmp_path, cli)
    result = subprocess.run(["zsh", "-f", "-c", ZSH_PROBE, "zsh", str(script), *words], capture_output=True,
                            text=True, timeout=60, check=False)
    assert result.stderr == ""
    assert result.returncode in (0, 1)  # 1: nothing to offer
    assert [line for line in result.stdout.split("\n") if line] == expected


@pytest.mark.parametrize(("line", "expected"), [
    ("mlopsgen ren", ["render"]),
    ("mlopsgen render --dr", ["--dry-run"]),
    ("mlopsgen registry ", ["alias", "check", "register"]),
    ("mlopsgen registry check --tr", ["--tracking-uri"]),
    ("mlopsgen render x.yaml --format ", ["json", "text"]),
    ("mlopsgen completion ", ["bash", "fish", "zsh"]),
    ("mlopsgen render sp", ["spec.yaml"]),
    ("mlopsgen analyze x.yaml --env ", []),
])
def test_fish_completes(line: str, expected: list[str], tmp_path: Path, cli: Callable[..., CliResult]) -> None:
    if shutil.which("fish") is None:
        pytest.skip("fish is not installed")
    script = completion("fish", tmp_path, cli)
    (tmp_path / "spec.yaml").touch()
    result = subprocess.run(["fish", "--no-config", "-c", 'source $argv[1]; complete -C $argv[2]', str(script), line],
                            cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False)
    assert (result.returncode, result.stderr) == (0, "")
    assert sorted(row.split("\t")[0] for row in result.stdout.split("\n") if row) == expected


def test_every_verb_has_a_grammar_and_a_command_module() -> None:
    from generator.cli.arguments import DEFINITIONS

    assert sorted(DEFINITIONS) == sorted(COMMANDS)


@pytest.mark.parametrize("verb", list(COMMANDS))
def test_a_verb_parses_the_same_with_its_grammar_alone(verb: str) -> None:
    """main builds only the requested verb's grammar: its help must be the one the whole grammar gives."""
    whole = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    alone = next(a for a in build_parser(verb)._actions if isinstance(a, argparse._SubParsersAction))
    assert alone.choices[verb].format_help() == whole.choices[verb].format_help()
