"""What a command's start imports: torchvision's transforms pull in its model zoo and
torch._dynamo (over a second), so only reading image files may import them; torch itself
(about 2 s) waits until a command runs, so `--help` is instant."""

from __future__ import annotations

import subprocess
import sys

from sia_audit.cli import COMMANDS


def run_fresh(modules: list[str], code: str) -> None:
    """Import `modules` in a fresh interpreter, then run `code` there; it must not raise."""
    probe = f"import importlib, sys\nfor m in {modules!r}:\n    importlib.import_module(m)\n{code}"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]


def test_no_command_imports_torchvision_to_start() -> None:
    run_fresh(
        sorted({module for module, _, _ in COMMANDS.values()}),
        "heavy = [m for m in sys.modules if m.startswith(('torchvision', 'torch._dynamo'))]\n"
        "assert not heavy, heavy[:5]\n",
    )


def test_commands_and_their_help_import_no_torch() -> None:
    """Every command module, a policy's loading and every `X --help` start without torch: a
    command imports what runs the audit when it runs."""
    light = sorted(COMMANDS)
    run_fresh(
        sorted({COMMANDS[name][0] for name in light}) + ["sia_audit.policy"],
        "assert 'torch' not in sys.modules, [m for m in sys.modules if 'sia_audit' in m][-5:]\n"
        "from click.testing import CliRunner\n"
        "from sia_audit.cli import cli\n"
        f"for name in {light!r}:\n"
        "    result = CliRunner().invoke(cli, [name, '--help'])\n"
        "    assert result.exit_code == 0 and 'Usage:' in result.output, (name, result.output)\n"
        "assert 'torch' not in sys.modules, 'a --help imported torch'\n",
    )
