"""Shell completion scripts (bash, zsh, fish) generated from the argument parser itself.

The parser is walked once into a CommandTree: commands, nested commands, the options of each and
their choices. Each shell then gets the same walk over the words before the cursor (which command
path they select, skipping option values), so the three scripts cannot disagree with the parser or
with each other.
"""

from __future__ import annotations

import argparse
import re
import shlex
from collections.abc import Iterator
from pathlib import Path

from generator.frozen import frozen

SHELLS = ("bash", "zsh", "fish")

# names and flags go into the scripts unquoted (fish conditions, function bodies): they must be plain words
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
_FLAG = re.compile(r"--?[A-Za-z0-9][A-Za-z0-9_-]*")


@frozen
class Option:
    flags: tuple[str, ...]
    help: str
    takes_value: bool
    choices: tuple[str, ...]
    files: bool  # its value is a path


@frozen
class CommandTree:
    path: tuple[str, ...]  # ("mlopsgen", "registry", "register")
    help: str
    options: tuple[Option, ...]
    subcommands: tuple[CommandTree, ...]
    choices: tuple[str, ...]  # of its positional arguments, such as completion's bash|zsh|fish
    files: bool  # a positional argument is a path

    @property
    def key(self) -> str:
        return " ".join(self.path)

    def walk(self) -> Iterator[CommandTree]:
        yield self
        for sub in self.subcommands:
            yield from sub.walk()


def command_tree(parser: argparse.ArgumentParser, path: tuple[str, ...] = (), help: str = "") -> CommandTree:
    path = path or (parser.prog,)
    for name in path:
        _plain(name, _NAME)
    options: list[Option] = []
    subcommands: list[CommandTree] = []
    choices: list[str] = []
    files = False
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {a.dest: a.help or "" for a in action._choices_actions}
            for name, sub in action.choices.items():
                subcommands.append(command_tree(sub, (*path, name), helps.get(name, "")))
        elif action.help == argparse.SUPPRESS:
            continue
        elif action.option_strings:
            flags = tuple(_plain(flag, _FLAG) for flag in action.option_strings)
            options.append(Option(flags, action.help or "", action.nargs != 0,
                                  tuple(str(c) for c in action.choices or ()), action.type is Path))
        else:
            choices.extend(str(c) for c in action.choices or ())
            files = files or action.type is Path
    return CommandTree(path, help, tuple(options), tuple(subcommands), tuple(choices), files)


def completion_script(shell: str, parser: argparse.ArgumentParser) -> str:
    tree = command_tree(parser)
    if shell == "bash":
        return _bash(tree)
    if shell == "zsh":
        return _zsh(tree)
    if shell == "fish":
        return _fish(tree)
    raise ValueError(f"no completion for shell {shell!r}; one of {', '.join(SHELLS)}")


def _plain(word: str, pattern: re.Pattern[str]) -> str:
    if not pattern.fullmatch(word):
        raise ValueError(f"{word!r} cannot be completed: not a plain command or option name")
    return word


# --- bash and zsh share these POSIX-style helpers --------------------------------------------------------

def _sh_case(function: str, comment: str, cases: list[tuple[str, str]], default: str = "") -> list[str]:
    lines = [f"# {comment}", f"{function}() {{", '    case "$*" in']
    lines += [f"        {pattern}) {body} ;;" for pattern, body in cases]
    if default:
        lines.append(f"        *) {default} ;;")
    return lines + ["    esac", "}", ""]


def _sh_words(words: list[str] | tuple[str, ...]) -> str:
    return "printf '%s\\n' " + " ".join(shlex.quote(w) for w in words)


def _sh_patterns(keys: list[str]) -> str:
    return "|".join(shlex.quote(k) for k in keys)


def _sh_helpers(tree: CommandTree) -> list[str]:
    nodes = list(tree.walk())
    value_keys = [f"{n.key} {f}" for n in nodes for o in n.options if o.takes_value for f in o.flags]
    lines = _sh_case("__mlopsgen_known", "PATH: is it a command?", [(_sh_patterns([n.key for n in nodes]), "return 0")],
                     "return 1")
    lines += _sh_case("__mlopsgen_takes_value", "PATH OPTION: does the option take a value?",
                      [(_sh_patterns(value_keys), "return 0")] if value_keys else [], "return 1")
    lines += _sh_case("__mlopsgen_commands", "PATH: its subcommands",
                      [(shlex.quote(n.key), _sh_words([s.path[-1] for s in n.subcommands])) for n in nodes
                       if n.subcommands])
    lines += _sh_case("__mlopsgen_options", "PATH: its options",
                      [(shlex.quote(n.key), _sh_words([f for o in n.options for f in o.flags])) for n in nodes
                       if n.options])
    choices = [(shlex.quote(f"{n.key} {f}"), _sh_words(o.choices)) for n in nodes for o in n.options if o.choices
               for f in o.flags]
    choices += [(shlex.quote(n.key), _sh_words(n.choices)) for n in nodes if n.choices]
    lines += _sh_case("__mlopsgen_choices", "PATH [OPTION]: the values it accepts", choices)
    lines += [
        "# WORD...: the command path the words after `mlopsgen` select, such as 'mlopsgen registry check'",
        "__mlopsgen_path() {",
        "    local cmdpath=mlopsgen word skip=",
        '    for word in "$@"; do',
        '        if [ -n "$skip" ]; then',
        '            [ "$word" = "=" ] || skip=  # bash splits --out=DIR into --out = DIR',
        "            continue",
        "        fi",
        '        case "$word" in',
        "            --*=*) ;;",
        '            -*) if __mlopsgen_takes_value "$cmdpath" "$word"; then skip=1; fi ;;',
        '            *) if __mlopsgen_known "$cmdpath" "$word"; then cmdpath="$cmdpath $word"; fi ;;',
        "        esac",
        "    done",
        "    printf '%s\\n' \"$cmdpath\"",
        "}",
        "",
    ]
    return lines


def _bash(tree: CommandTree) -> str:
    lines = ["# bash completion for mlopsgen; generated by `mlopsgen completion bash` from its argument parser", ""]
    lines += _sh_helpers(tree)
    lines += [
        "_mlopsgen() {",
        '    local cur=${COMP_WORDS[COMP_CWORD]} prev= cmdpath',
        '    if [ "$COMP_CWORD" -gt 0 ]; then prev=${COMP_WORDS[COMP_CWORD-1]}; fi',
        "    # COMP_WORDBREAKS makes --format=j the three words --format = j",
        '    if [ "$cur" = "=" ]; then cur=; fi',
        '    if [ "$prev" = "=" ] && [ "$COMP_CWORD" -gt 1 ]; then prev=${COMP_WORDS[COMP_CWORD-2]}; fi',
        '    cmdpath=$(__mlopsgen_path "${COMP_WORDS[@]:1:COMP_CWORD-1}")',
        "    COMPREPLY=()",
        '    if __mlopsgen_takes_value "$cmdpath" "$prev"; then',
        '        COMPREPLY=($(compgen -W "$(__mlopsgen_choices "$cmdpath" "$prev")" -- "$cur"))',
        "        return 0  # nothing offered: -o default completes file names",
        "    fi",
        '    case "$cur" in',
        '        -*) COMPREPLY=($(compgen -W "$(__mlopsgen_options "$cmdpath")" -- "$cur")) ;;',
        '        *) COMPREPLY=($(compgen -W "$(__mlopsgen_commands "$cmdpath") $(__mlopsgen_choices "$cmdpath")" \\',
        '               -- "$cur")) ;;',
        "    esac",
        "}",
        "",
        "complete -o default -F _mlopsgen mlopsgen",
    ]
    return "\n".join(lines) + "\n"


def _zsh(tree: CommandTree) -> str:
    nodes = list(tree.walk())
    lines = ["#compdef mlopsgen", "# zsh completion for mlopsgen; generated by `mlopsgen completion zsh` from its "
             "argument parser", ""]
    lines += _sh_helpers(tree)
    lines += _sh_case("__mlopsgen_described_commands", "PATH: its subcommands as name:help",
                      [(shlex.quote(n.key), _sh_words([f"{s.path[-1]}:{s.help}" for s in n.subcommands]))
                       for n in nodes if n.subcommands])
    lines += _sh_case("__mlopsgen_described_options", "PATH: its options as flag:help",
                      [(shlex.quote(n.key), _sh_words([f"{f}:{o.help}" for o in n.options for f in o.flags]))
                       for n in nodes if n.options])
    file_keys = [n.key for n in nodes if n.files] + [f"{n.key} {f}" for n in nodes for o in n.options if o.files
                                                     for f in o.flags]
    lines += _sh_case("__mlopsgen_files", "PATH [OPTION]: is the value a path?",
                      [(_sh_patterns(file_keys), "return 0")] if file_keys else [], "return 1")
    lines += [
        "_mlopsgen() {",
        "    local cur=${words[CURRENT]} prev=${words[CURRENT-1]} cmdpath",
        "    local -a values",
        '    cmdpath=$(__mlopsgen_path "${(@)words[2,CURRENT-1]}")',
        "    if [[ $cur == --*=* ]]; then",
        "        prev=${cur%%=*}",
        "        compset -P '*='",
        "    fi",
        '    if __mlopsgen_takes_value "$cmdpath" "$prev"; then',
        '        values=(${(f)"$(__mlopsgen_choices "$cmdpath" "$prev")"})',
        "        if (( $#values )); then",
        "            compadd -a values",
        '        elif __mlopsgen_files "$cmdpath" "$prev"; then',
        "            _files",
        "        fi",
        "        return",
        "    fi",
        "    if [[ $cur == -* ]]; then",
        '        values=(${(f)"$(__mlopsgen_described_options "$cmdpath")"})',
        "        _describe -t options option values",
        "        return",
        "    fi",
        '    values=(${(f)"$(__mlopsgen_described_commands "$cmdpath")"})',
        "    if (( $#values )); then",
        "        _describe -t commands command values",
        "        return",
        "    fi",
        '    values=(${(f)"$(__mlopsgen_choices "$cmdpath")"})',
        "    if (( $#values )); then",
        "        compadd -a values",
        '    elif __mlopsgen_files "$cmdpath"; then',
        "        _files",
        "    fi",
        "}",
        "",
        "if [[ ${zsh_eval_context[-1]} == loadautofunc ]]; then",
        '    _mlopsgen "$@"  # autoloaded from $fpath',
        "else",
        "    compdef _mlopsgen mlopsgen  # sourced or eval'd after compinit",
        "fi",
    ]
    return "\n".join(lines) + "\n"


def _fish_quote(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _fish_flag(flag: str) -> str:
    if flag.startswith("--"):
        return f"-l {flag[2:]}"
    return f"-s {flag[1:]}" if len(flag) == 2 else f"-o {flag[1:]}"


def _fish_case(function: str, keys: list[str]) -> list[str]:
    lines = [f"function {function}", '    switch "$argv"']
    if keys:
        lines += ["        case " + " ".join(_fish_quote(k) for k in keys), "            return 0"]
    return lines + ["    end", "    return 1", "end", ""]


def _fish(tree: CommandTree) -> str:
    nodes = list(tree.walk())
    value_keys = [f"{n.key} {f}" for n in nodes for o in n.options if o.takes_value for f in o.flags]
    lines = ["# fish completion for mlopsgen; generated by `mlopsgen completion fish` from its argument parser", ""]
    lines += ["# PATH: is it a command?"] + _fish_case("__mlopsgen_known", [n.key for n in nodes])
    lines += ["# PATH OPTION: does the option take a value?"] + _fish_case("__mlopsgen_takes_value", value_keys)
    lines += [
        "# the command path the words before the cursor select, such as 'mlopsgen registry check'",
        "function __mlopsgen_path",
        "    set -l words (commandline -opc)",
        "    set -e words[1]",
        "    set -l cmdpath mlopsgen",
        "    set -l skip 0",
        "    for word in $words",
        "        if test $skip = 1",
        "            set skip 0",
        "            continue",
        "        end",
        "        switch $word",
        "            case '--*=*'",
        "            case '-*'",
        "                __mlopsgen_takes_value $cmdpath $word; and set skip 1",
        "            case '*'",
        "                __mlopsgen_known $cmdpath $word; and set -a cmdpath $word",
        "        end",
        "    end",
        '    echo "$cmdpath"',
        "end",
        "",
        "# PATH: are the words before the cursor exactly this command?",
        "function __mlopsgen_at",
        "    set -l here (__mlopsgen_path)",
        '    test "$here" = "$argv"',
        "end",
        "",
    ]
    for node in nodes:
        at = f"-n '__mlopsgen_at {node.key}'"
        if node.subcommands or node.choices or not node.files:
            lines.append(f"complete -c mlopsgen {at} -f")
        for sub in node.subcommands:
            lines.append(f"complete -c mlopsgen {at} -a {sub.path[-1]} -d {_fish_quote(sub.help)}")
        if node.choices:
            lines.append(f"complete -c mlopsgen {at} -a {_fish_quote(' '.join(node.choices))}")
        for option in node.options:
            spec = [_fish_flag(f) for f in option.flags]
            if option.choices:
                spec.append(f"-x -a {_fish_quote(' '.join(option.choices))}")
            elif option.takes_value:
                spec.append("-r -F" if option.files else "-x")
            lines.append(f"complete -c mlopsgen {at} {' '.join(spec)} -d {_fish_quote(option.help)}")
    return "\n".join(lines) + "\n"
