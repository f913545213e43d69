"""The CLI's plumbing: version, help, one-line errors with exit 2 (bad input) or 3 (a bug),
tracebacks only with --debug, and SIGINT / SIGTERM leaving nothing half-written."""

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
    import sia_audit.probes.synthfaces.dataset as synth_data  # synth imports it when it runs

    def boom(*args, **kwargs):
        raise DataError("probe folder /x: list_attr_celeba.txt missing; point to a CelebA folder")

    monkeypatch.setattr(synth_data, "synthesize", boom)
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


def test_an_unexpected_error_exits_3_in_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    """A bug is never read as a verdict: exit 3 (not 1, "a gate failed"), one line."""
    import sia_audit.probes.synthfaces.dataset as synth_data  # synth imports it when it runs

    def bug(*args, **kwargs):
        raise ZeroDivisionError("division by zero\nsecond line of a long message")

    monkeypatch.setattr(synth_data, "synthesize", bug)
    result = CliRunner().invoke(cli, ["synth", "/tmp/never-written-xyz"])
    assert result.exit_code == 3, result.output
    lines = result.stderr.strip().splitlines()
    assert lines[-1].startswith("sia-audit: internal error: ZeroDivisionError: division by zero;")
    assert "--debug" in lines[-1] and "second line" not in result.stderr
    assert "Traceback" not in result.output
    debug = CliRunner().invoke(cli, ["--debug", "synth", "/tmp/never-written-xyz"])
    assert isinstance(debug.exception, ZeroDivisionError)  # raised: the traceback is shown


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["synth", "/tmp/x", "--count", "many"], "'many' is not a valid integer; see"),
        (["run", "m.pt", "--policy", "p.yaml", "--threads", "0"], "0 is not in the range x>=1"),
        (["run", "m.pt"], "Missing option '--policy'"),
        (["policy-schema", "extra"], "Got unexpected extra argument (extra)"),
    ],
)
def test_bad_options_are_one_line_exit_2(args: list[str], words: str) -> None:
    """click's own usage errors too: one line naming the option, and where the help is."""
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2 and "internal error" not in result.output
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("sia-audit: error: ") and words in line, line
    assert line.endswith(f"; see `cli {args[0]} --help`")  # CliRunner names the program cli


def test_help_documents_every_exit_code() -> None:
    out = CliRunner().invoke(cli, ["--help"]).output
    for code in ("0 ", "1 ", "2 ", "3 ", "130", "143"):
        assert f"  {code}" in out, code
    assert "internal error" in out


ROOT = Path(__file__).resolve().parents[1]
TARGET = ROOT / "examples" / "models" / "eyeglasses_control.pt"
POLICY = """\
probes: {count: 4, seed: 3}
attack: {steps: 2, batch_size: 4}
bootstrap: {resamples: 20}
"""
# Runs a command with one slow step patched in: it prints "ready" once the command is inside
# what a signal must interrupt (the temporary output folder exists), then waits.
DRIVER = """
import sys, time
import {module} as m
def slow(*args, **kwargs):
    {before}
    print("ready", flush=True)
    time.sleep(120)
m.{name} = slow
from sia_audit.cli import main
sys.argv = ["sia-audit", *sys.argv[1:]]
main()
"""


def _interrupted(tmp_path: Path, driver: str, args: list[str], signum: int) -> int:
    import os
    import signal as signals

    path = os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])
    env = {**os.environ, "PYTHONPATH": path}
    proc = subprocess.Popen(
        [sys.executable, "-c", driver, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
        env=env,
        # as from a terminal: a shell's background job (`cmd &`) starts with SIGINT ignored,
        # and Python then never raises KeyboardInterrupt
        preexec_fn=lambda: signals.signal(signals.SIGINT, signals.SIG_DFL),
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.strip() == "ready", line + proc.stderr.read() if proc.stderr else line
        proc.send_signal(signals.Signals(signum))
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert err.strip().count("\n") == 0 and "nothing half-written was kept" in err, err
    return proc.returncode


@pytest.mark.parametrize(("signum", "code"), [(15, 143), (2, 130)])
def test_a_signal_during_generate_leaves_nothing_half_written(
    tmp_path: Path, signum: int, code: int
) -> None:
    """SIGTERM (a CI runner's cancel or timeout) cleans up as Ctrl-C does: no hidden
    .OUT.*.tmp/ folder of partial adversaries, no OUT."""
    (tmp_path / "policy.yaml").write_text(POLICY)
    driver = DRIVER.format(
        module="sia_audit.app.generate",
        name="_attack_and_write",
        before='(args[0] / "partial.png").write_bytes(b"x")',
    )
    args = ["generate", str(TARGET), "--policy", "policy.yaml", "--out", "adv", "--quiet"]
    assert _interrupted(tmp_path, driver, args, signum) == code
    assert sorted(p.name for p in tmp_path.iterdir()) == ["policy.yaml"]


def test_sigterm_during_run_keeps_the_earlier_report(tmp_path: Path) -> None:
    (tmp_path / "policy.yaml").write_text(POLICY)
    (tmp_path / "rep").mkdir()
    (tmp_path / "rep" / "report.json").write_text("the earlier report")
    driver = DRIVER.format(module="sia_audit.app.run", name="audit", before="pass")
    args = ["run", str(TARGET), "--policy", "policy.yaml", "--out", "rep", "--quiet"]
    assert _interrupted(tmp_path, driver, args, 15) == 143
    assert [p.name for p in (tmp_path / "rep").iterdir()] == ["report.json"]
    assert (tmp_path / "rep" / "report.json").read_text() == "the earlier report"
