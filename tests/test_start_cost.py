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
