"""The Action's install step (.github/action/install.sh): torch first, alone, from the CPU index
(or the one given), then sia-audit with the ONNX extra that fits the runner, only when asked.

`python` and `nvidia-smi` are stand-ins on PATH that record their arguments; nothing installs.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / ".github" / "action" / "install.sh"
CPU_INDEX = "https://download.pytorch.org/whl/cpu"
CUDA_INDEX = "https://download.pytorch.org/whl/cu128"  # a user's torch-index-url
QUIET = "--disable-pip-version-check --quiet"


def install(tmp_path: Path, *, gpu: bool, onnx: str = "", index: str = "") -> list[str]:
    """The commands install.sh runs, one `python ...` line each."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "calls"
    (bin_dir / "python").write_text(f'#!/bin/bash\necho "python $*" >> "{log}"\n')
    (bin_dir / "python").chmod(0o755)
    if gpu:
        (bin_dir / "nvidia-smi").write_text("#!/bin/bash\n")
        (bin_dir / "nvidia-smi").chmod(0o755)
    env = {
        "PATH": str(bin_dir),  # nothing else: the machine's own nvidia-smi must not count
        "ACTION_PATH": "/action",
        "INPUT_ONNX_MODEL": onnx,
        "TORCH_INDEX_URL": index,
        "HOME": str(tmp_path),
    }
    done = subprocess.run(["/bin/bash", str(SCRIPT)], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return log.read_text().splitlines()


@pytest.mark.parametrize(
    ("gpu", "onnx", "index", "torch_from", "package"),
    [
        (False, "", "", CPU_INDEX, "/action"),
        (False, "m.onnx", "", CPU_INDEX, "/action[onnx]"),
        (True, "m.onnx", "", None, "/action[onnx-gpu]"),  # PyPI's CUDA torch, via sia-audit
        (True, "", CUDA_INDEX, CUDA_INDEX, "/action"),
    ],
)
def test_install_steps(
    tmp_path: Path, gpu: bool, onnx: str, index: str, torch_from: str | None, package: str
) -> None:
    calls = install(tmp_path, gpu=gpu, onnx=onnx, index=index)
    torch = [f"python -m pip install {QUIET} --index-url {torch_from} torch torchvision"]
    assert calls == [
        *(torch if torch_from else []),
        f"python -m pip install {QUIET} {package}",
        "python -m sia_audit.cli --version",
    ]
