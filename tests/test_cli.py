"""The CLI's plumbing: version, help, one-line errors with exit 2, tracebacks only with --debug."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from sia_audit import __version__
from sia_audit.cli import cli
from sia_audit.errors import DataError


def test_version_and_help() -> None:
    runner = CliRunner()
    assert __version__ in runner.invoke(cli, ["--version"]).output
    out = runner.invoke(cli, ["--help"]).output
    assert "synth" in out and "Exit codes" in out


def test_error_is_one_line_without_traceback_unless_debug(tmp_path: Path) -> None:
    out = tmp_path / "x"
    cmd = [sys.executable, "-m", "sia_audit.cli", "synth", str(out), "--correlate", "Foo->Bar@1"]
    plain = subprocess.run(cmd, capture_output=True, text=True, check=False)
    assert plain.returncode == 2
    assert plain.stderr.count("\n") == 1 and plain.stderr.startswith("sia-audit: error: ")
    debug = subprocess.run(
        [cmd[0], "-m", "sia_audit.cli", "--debug", *cmd[3:]],
        capture_output=True,
        text=True,
        check=False,
    )
    assert "Traceback" in debug.stderr and "UsageError" in debug.stderr


def test_siaaudit_errors_from_any_command_exit_2(monkeypatch: pytest.MonkeyPatch) -> None:
    import sia_audit.commands.synth as synth_cmd

    def boom(*args, **kwargs):
        raise DataError("probe folder /x: list_attr_celeba.txt missing; point to a CelebA folder")

    monkeypatch.setattr(synth_cmd, "synthesize", boom)
    result = CliRunner().invoke(cli, ["synth", "/tmp/never-written-xyz"])
    assert result.exit_code == 2 and "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1] == (
        "sia-audit: error: probe folder /x: list_attr_celeba.txt missing; point to a CelebA folder"
    )


def test_demo_never_replaces_a_folder_it_did_not_write(tmp_path: Path) -> None:
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    result = CliRunner().invoke(cli, ["demo", "--out", str(out)])
    assert result.exit_code == 2 and (out / "notes.txt").read_text() == "mine"


def test_command_table_matches_the_commands() -> None:
    """The help lines `--help` shows without importing commands are the commands' own."""
    from sia_audit.cli import COMMANDS

    for name, (_, _, line) in COMMANDS.items():
        command = cli.get_command(None, name)  # type: ignore[arg-type]
        assert command is not None and command.name == name
        assert command.help is not None and command.help.split("\n")[0] == line
