"""The wheel is the product: built from this checkout and installed into a fresh virtualenv beside
this machine's torch, it runs `--help`, `demo` and `check-onnx` from an empty folder.

The virtualenv has the wheel's dependencies and nothing else (tests/packaging/wheel.py): no
checkout on the path, no extra, so `check-onnx` must name the extra that brings ONNX Runtime.
One test, because the build and the install are its cost (~10 s; the demo ~15 s on 2 cores).
"""

from __future__ import annotations

import os
import subprocess
import zipfile
from pathlib import Path

from tests.packaging.wheel import ROOT, build_wheel, fresh_venv

SHIPPED = {  # in the wheel -> in the checkout: one copy in git, carried by pyproject's mapping
    "sia_audit/demo_models/eyeglasses_biased.pt": "examples/models/eyeglasses_biased.pt",
    "sia_audit/demo_models/eyeglasses_control.report.json": (
        "examples/models/eyeglasses_control.report.json"
    ),
    "sia_audit/demo_policies/fairness.yaml": "policies/fairness.yaml",
}


def sia_audit(bin_dir: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The installed command in a clean environment: no PYTHONPATH, nothing of the checkout."""
    env = {"PATH": f"{bin_dir}{os.pathsep}/usr/bin:/bin", "HOME": str(cwd), "OMP_NUM_THREADS": "1"}
    return subprocess.run(
        [str(bin_dir / "sia-audit"), *args], cwd=cwd, env=env, capture_output=True, text=True
    )


def test_the_wheel_installs_beside_torch_and_runs_the_demo_from_an_empty_folder(
    tmp_path: Path,
) -> None:
    wheel = build_wheel(tmp_path)
    with zipfile.ZipFile(wheel) as z:
        # Only the demo's own files travel: not the other examples, nor a training run's state.
        data = {n for n in z.namelist() if n.startswith("sia_audit/demo_") and n[-3:] != ".py"}
        assert data == set(SHIPPED)
        for inside, source in SHIPPED.items():
            assert z.read(inside) == (ROOT / source).read_bytes(), inside
        assert not [n for n in z.namelist() if n.endswith(".state.pt")]

    bin_dir = fresh_venv(wheel, tmp_path)
    empty = tmp_path / "empty"
    empty.mkdir()

    help_ = sia_audit(bin_dir, empty, "--help")
    assert help_.returncode == 0 and "demo" in help_.stdout, help_.stderr

    # Exit 0 or 1 both mean the demo ran (1: four probes are too few for its gate to be sure).
    demo = sia_audit(bin_dir, empty, "demo", "--count", "4", "--out", "out")
    assert demo.returncode in (0, 1), demo.stderr
    assert "auditing eyeglasses_biased.pt" in demo.stdout
    assert "most sensitive measurable attributes (the paper's s):" in demo.stdout
    assert "measurable attributes it leans on most under SIA (w = s x loss share):" in demo.stdout
    assert "whose flip most often changes its answer (flip rate" in demo.stdout
    assert "no regression gates: the control's audit has other probes" in demo.stdout
    written = {p.name for p in (empty / "out").iterdir()}
    assert {"report.json", "report.html", "report.pdf", "summary.md"} <= written
    report = (empty / "out" / "report.json").read_text()
    assert str(tmp_path / "venv") in report and str(ROOT) not in report  # the wheel's files ran

    # Installed without an extra: check-onnx says which to install, in one line, exit 2.
    onnx = sia_audit(bin_dir, empty, "check-onnx", "model.onnx", "--policy", "policy.yaml")
    assert onnx.returncode == 2, onnx.stderr
    (line,) = onnx.stderr.strip().splitlines()
    assert "ONNX Runtime is not installed" in line and "pip install 'sia-audit[onnx]'" in line
