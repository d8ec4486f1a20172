"""Start-up contract of the `iotmark` command: `--version` and `--help` import no sub-command module; each
sub-command is imported and built only when it runs or its own help is asked for, and then behaves as before."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from iotmark import __version__
from iotmark.cli import COMMANDS, SCAN_COMMANDS, app, build_command

# Never needed to print the version or the list of commands.
HEAVY = ("weasyprint", "cryptography", "jinja2", "iotmark.catalog", "iotmark.model", "pydantic", "numpy", "dask",
         "unblob", "django", "ninja", "matplotlib", "yaml")
SUB_COMMAND_MODULES = ("iotmark.risk.cli", "iotmark.mitigate.cli", "iotmark.registry.cli", "iotmark.programme.cli",
                       "iotmark.programme.cli_design", "iotmark.programme.cli_org", "iotmark.collect.probe.cli",
                       "click")

# Runs the CLI in a fresh interpreter as `python -m iotmark.cli` does, then reports which modules it loaded.
RUN_AND_LIST_MODULES = """
import json, runpy, sys
sys.argv = ['iotmark', *json.loads(sys.argv[1])]
try:
    runpy.run_module('iotmark.cli', run_name='__main__')
except SystemExit as exc:
    code = exc.code
else:
    code = 0
print('\\nMODULES ' + json.dumps({'exit': code, 'modules': sorted(sys.modules)}))
"""


def run_listing_modules(*args: str) -> tuple[str, int, set[str]]:
    """Output, exit code and loaded modules of `iotmark ARGS` in a fresh interpreter (wide terminal)."""
    env = {**os.environ, "COLUMNS": "250", "TERM": "dumb"}
    result = subprocess.run([sys.executable, "-c", RUN_AND_LIST_MODULES, json.dumps(args)], capture_output=True,
                            text=True, timeout=60, env=env)
    output, _, report = result.stdout.rpartition("\nMODULES ")
    facts = json.loads(report)
    return output + result.stderr, facts["exit"], set(facts["modules"])


def iotmark(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "iotmark", *args], capture_output=True, text=True, timeout=60,
                          env={**os.environ, **(env or {})})


def test_version_loads_no_sub_command_and_no_heavy_module() -> None:
    output, code, modules = run_listing_modules("--version")
    assert (output, code) == (f"iotmark {__version__}\n", 0)
    assert sorted(modules & {*HEAVY, *SUB_COMMAND_MODULES, "rich"}) == []


def test_help_lists_every_command_with_its_help_line_without_importing_it() -> None:
    output, code, modules = run_listing_modules("--help")
    assert code == 0
    for name, (_, help_line) in COMMANDS.items():
        assert any(line.split() == ["│", name, *help_line.split(), "│"] for line in output.splitlines()), name
    assert sorted(modules & {*HEAVY, *SUB_COMMAND_MODULES}) == []


def test_running_a_command_builds_that_command_only() -> None:
    output, code, modules = run_listing_modules("catalog", "list", "--json")
    assert code == 0
    assert "etsi-en-303-645" in {standard["id"] for standard in json.loads(output)}
    assert sorted(modules & set(SUB_COMMAND_MODULES)) == []


@pytest.mark.parametrize(("table", "name"), [*((COMMANDS, n) for n in COMMANDS),
                                             *((SCAN_COMMANDS, n) for n in SCAN_COMMANDS)])
def test_table_help_line_is_the_commands_own_help(table: dict, name: str) -> None:
    target, help_line = table[name]
    command = build_command(name, target, help_line)
    assert command.name == name
    assert (command.help or "").split("\n\n")[0].replace("\n", " ") == help_line


@pytest.mark.parametrize("name", list(COMMANDS))
def test_every_command_answers_its_own_help(name: str) -> None:
    result = CliRunner().invoke(app, [name, "--help"], prog_name="iotmark")
    assert result.exit_code == 0, result.output
    assert f"Usage: iotmark {name} " in result.output


def test_scan_lists_both_collectors_in_table_order() -> None:
    result = CliRunner().invoke(app, ["scan", "--help"], terminal_width=200)
    lines = [line.split()[1] for line in result.output.splitlines() if line.split()[1:2] in (["device"], ["firmware"])]
    assert lines == ["device", "firmware"]


def test_unknown_command_is_one_usage_error_with_a_suggestion() -> None:
    result = iotmark("catalgo")
    assert result.returncode == 2
    assert "No such command 'catalgo'. Did you mean 'catalog'?" in result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""


def test_no_arguments_shows_the_command_list() -> None:
    result = iotmark(env={"COLUMNS": "250"})
    assert result.returncode == 2
    assert "Commands" in result.stdout and " demo " in result.stdout and " programme " in result.stdout


@pytest.mark.parametrize(("words", "expected"), [("iotmark ca", ["catalog"]), ("iotmark scan ", ["device", "firmware"]),
                                                 ("iotmark catalog s", ["show"]), ("iotmark mu", ["mud"])])
def test_bash_completion_of_command_names(words: str, expected: list[str]) -> None:
    cword = len(words.split()) - (0 if words.endswith(" ") else 1)
    result = iotmark(env={"_IOTMARK_COMPLETE": "complete_bash", "COMP_WORDS": words, "COMP_CWORD": str(cword)})
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == expected


def test_bash_completion_script_names_the_installed_command() -> None:
    script = Path(sys.executable).with_name("iotmark")  # the console script installed next to this interpreter
    result = subprocess.run([str(script)], capture_output=True, text=True, timeout=60,
                            env={**os.environ, "_IOTMARK_COMPLETE": "source_bash"})
    assert result.returncode == 0, result.stderr
    assert "complete -o default -F _iotmark_completion iotmark" in result.stdout.splitlines()
