"""What a command's start imports: torchvision's transforms pull in its model zoo and
torch._dynamo (over a second), so only reading image files may import them."""

from __future__ import annotations

import subprocess
import sys

from sia_audit.cli import COMMANDS


def test_no_command_imports_torchvision_to_start() -> None:
    modules = sorted({module for module, _, _ in COMMANDS.values()})
    probe = (
        "import importlib, sys\n"
        f"for m in {modules!r}:\n"
        "    importlib.import_module(m)\n"
        "heavy = [m for m in sys.modules if m.startswith(('torchvision', 'torch._dynamo'))]\n"
        "assert not heavy, heavy[:5]\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]


# A command whose --help needs torch: its options list the generator trainer's own choices.
NEEDS_TORCH_FOR_HELP = {"train-generator"}


def test_commands_and_their_help_import_no_torch() -> None:
    """`sia-audit X --help` and a policy's loading start without torch (about 2 s here): a
    command imports what runs the audit when it runs."""
    modules = sorted(
        {m for name, (m, _, _) in COMMANDS.items() if name not in NEEDS_TORCH_FOR_HELP}
    )
    probe = (
        "import importlib, sys\n"
        f"for m in {modules!r} + ['sia_audit.policy']:\n"
        "    importlib.import_module(m)\n"
        "assert 'torch' not in sys.modules, [m for m in sys.modules if 'sia_audit' in m][-5:]\n"
        "from click.testing import CliRunner\n"
        "from sia_audit.cli import cli\n"
        f"for name in {sorted(set(COMMANDS) - NEEDS_TORCH_FOR_HELP)!r}:\n"
        "    result = CliRunner().invoke(cli, [name, '--help'])\n"
        "    assert result.exit_code == 0 and 'Usage:' in result.output, (name, result.output)\n"
        "assert 'torch' not in sys.modules, 'a --help imported torch'\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
