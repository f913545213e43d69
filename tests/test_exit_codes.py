"""The exit-code contract in process: each way out of a command, its code, its stream, its line.

0 passed, 1 a gate failed (or a `fail` flag), 2 bad input, 3 a bug, 130 SIGINT, 143 SIGTERM.
tests/test_cli.py sends real signals to real runs; these raise the same exceptions inside a
command, so each branch is checked in milliseconds and on every line it prints.
"""

from __future__ import annotations

import sys

import click
import pytest
from click.testing import CliRunner

from sia_audit import cli as cli_module
from sia_audit.cli import Terminated, cli, one_line
from sia_audit.commands.run import finish
from sia_audit.errors import ConfigError, SiaAuditError
from sia_audit.gates.flags import ValidityFlag
from sia_audit.gates.thresholds import skipped
from sia_audit.results import GateVerdict


def raising(exc: BaseException):  # noqa: ANN201 - a click command
    @click.command("boom")
    @click.option("--count", type=int, default=1)
    def boom(count: int) -> None:
        raise exc

    return boom


def invoke(monkeypatch: pytest.MonkeyPatch, exc: BaseException, *args: str):  # noqa: ANN201
    monkeypatch.setitem(cli_module.COMMANDS, "boom", ("tests.test_exit_codes", "BOOM", "Boom."))
    monkeypatch.setattr(sys.modules[__name__], "BOOM", raising(exc), raising=False)
    return CliRunner().invoke(cli, [*args, "boom"])


@pytest.mark.parametrize(
    ("exc", "code", "line"),
    [
        (KeyboardInterrupt(), 130, "sia-audit: interrupted; nothing half-written was kept"),
        (Terminated(), 143, "sia-audit: terminated (SIGTERM); nothing half-written was kept"),
        (ConfigError("policy p.yaml: no gates; add one"), 2,
         "sia-audit: error: policy p.yaml: no gates; add one"),
        (SiaAuditError("x"), 2, "sia-audit: error: x"),
        (ValueError("bad\nmore"), 3,
         "sia-audit: internal error: ValueError: bad; this is a bug in sia-audit, not a verdict on "
         "the model: re-run with --debug for the traceback and report it"),
    ],
)  # fmt: skip
def test_each_way_out_has_its_code_and_one_line_on_stderr(
    monkeypatch: pytest.MonkeyPatch, exc: BaseException, code: int, line: str
) -> None:
    result = invoke(monkeypatch, exc)
    assert (result.exit_code, result.stdout, result.stderr) == (code, "", line + "\n")


@pytest.mark.parametrize("exc", [ConfigError("x"), ValueError("y")])
def test_debug_shows_the_exception_itself(monkeypatch: pytest.MonkeyPatch, exc: Exception) -> None:
    result = invoke(monkeypatch, exc, "--debug")
    assert result.exception is exc


def test_a_click_error_raised_by_a_command_is_one_line_exit_2(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # click's own ClickException (and FileError) carry exit code 1, which here means a gate
    # failed: whatever click raises is bad input, 2.
    result = invoke(monkeypatch, click.ClickException("no such file."))
    assert (result.exit_code, result.stderr) == (2, "sia-audit: error: no such file\n")
    usage = CliRunner().invoke(cli, ["policy-schema", "--bogus"])
    assert usage.exit_code == 2
    assert usage.stderr == (
        "sia-audit: error: No such option '--bogus'; see `cli policy-schema --help`\n"
    )


def test_a_bad_option_of_the_program_itself_is_one_line_exit_2() -> None:
    result = CliRunner().invoke(cli, ["--bogus"])
    assert result.exit_code == 2
    assert result.stderr == "sia-audit: error: No such option '--bogus'; see `cli --help`\n"


def test_help_lists_every_command_under_commands_without_importing_them() -> None:
    out = CliRunner().invoke(cli, ["--help"]).output
    heading = out.index("\nCommands:\n")
    for name, (_, _, line) in cli_module.COMMANDS.items():
        assert f"  {name}" in out[heading:] and line[:40] in out[heading:]
    assert cli.list_commands(None) == list(cli_module.COMMANDS)  # type: ignore[arg-type]
    assert cli.get_command(None, "no-such-command") is None  # type: ignore[arg-type]


def test_the_console_script_names_the_program(monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    monkeypatch.setattr(sys, "argv", ["whatever", "--version"])
    with pytest.raises(SystemExit) as done:
        cli_module.main()
    assert done.value.code == 0
    assert capsys.readouterr().out.startswith("sia-audit, version ")


@pytest.mark.parametrize(
    ("exc", "limit", "line"),
    [
        (ValueError("x" * 8), 18, "ValueError: xxxxxx"[:15] + "..."),
        (ValueError("x" * 7), 19, "ValueError: xxxxxxx"),  # exactly the limit: kept whole
        (ValueError(""), 200, "ValueError"),
        (ValueError("  first\nsecond"), 200, "ValueError: first"),
    ],
)
def test_one_line_cuts_at_the_limit(exc: Exception, limit: int, line: str) -> None:
    assert one_line(exc, limit) == line
    assert len(one_line(ValueError("y" * 300))) == 200


def verdict(status: str, name: str = "g") -> GateVerdict:
    if status == "skipped":
        return skipped(name, "why")
    return GateVerdict(name, status, 1.0, 1.0, 1.0, 0.5, "max", False, f"{name} = 1")  # type: ignore[arg-type]


def finished(capsys, *args, **kwargs) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as done:
        finish(*args, **kwargs)
    out = capsys.readouterr()
    return done.value.code, out.out, out.err


def test_a_run_that_passed_exits_0_and_says_what_was_checked(capsys) -> None:
    got = finished(capsys, [verdict("pass"), verdict("skipped", "h")], True, "reports in out")
    assert got == (0, "sia-audit: passed (1 passed, 1 skipped); reports in out\n",
                   "SKIPPED h: why\n")  # fmt: skip
    got = finished(capsys, [verdict("skipped")], True, "here", ["a note"])
    assert got == (0, "sia-audit: passed, but no gate was checked (1 skipped); here\n",
                   "sia-audit: note: a note\nSKIPPED g: why\n")  # fmt: skip


def test_a_failed_gate_or_flag_exits_1_and_is_printed(capsys) -> None:
    raised = ValidityFlag("loss_not_raised", True, "fail", "it did not")
    quiet = ValidityFlag("vanishing_gradients", False, "fail", "fine")
    got = finished(
        capsys, [verdict("fail"), verdict("pass", "p")], False, "w", flags=[raised, quiet]
    )
    assert got == (1, "sia-audit: FAILED (1 passed, 1 failed); w\n",
                   "FLAG    loss_not_raised (fail): it did not\nFAIL    g = 1\n")  # fmt: skip
    got = finished(capsys, [verdict("unmeasurable")], False, "w", every_gate=True,
                   one_stream=True)  # fmt: skip
    assert got[0] == 1 and got[2] == "" and got[1].startswith("UNMEASURABLE g = 1\n")


def test_every_gate_prints_the_passed_ones_too(capsys) -> None:
    got = finished(capsys, [verdict("pass")], True, "w", every_gate=True)
    assert got == (0, "sia-audit: passed (1 passed); w\n", "PASS    g = 1\n")


def test_the_console_script_names_itself_in_its_errors(monkeypatch, capsys) -> None:
    monkeypatch.setattr(sys, "argv", ["whatever", "--bogus"])
    with pytest.raises(SystemExit) as done:
        cli_module.main()
    assert done.value.code == 2
    assert capsys.readouterr().err == (
        "sia-audit: error: No such option '--bogus'; see `sia-audit --help`\n"
    )


def test_no_command_at_all_shows_the_help_not_an_error() -> None:
    result = CliRunner().invoke(cli, [])
    assert "Usage:" in result.output and "sia-audit: error" not in result.output


def test_only_the_final_full_stop_of_a_click_message_is_cut(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    result = invoke(monkeypatch, click.ClickException("use X."))
    assert result.stderr == "sia-audit: error: use X\n"
