"""A machine without Pango cannot make report.pdf: `run` (alone or under torchrun), `demo` and
`render` say so in one line, exit 2, before any audit and with nothing written; `run --format`
without pdf then works.

This machine has Pango, so the commands run in interpreters whose cffi refuses to load it, as it
fails where Pango is not installed (a sitecustomize on PYTHONPATH): WeasyPrint's real import path
meets the real error, banner included.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.commands.test_distributed import run_two_ranks
from tests.commands.test_run import LENIENT, TARGET
from tests.formats.conftest import DATA

SHIM = '''\
"""Test shim: cffi cannot load Pango in this interpreter (tests/packaging/test_no_pango.py)."""
import cffi

_dlopen = cffi.FFI.dlopen


def dlopen(self, name, *args, **kwargs):
    if "pango" in str(name):
        raise OSError(
            f"cannot load library {name!r}: {name}: cannot open shared object file: "
            "No such file or directory"
        )
    return _dlopen(self, name, *args, **kwargs)


cffi.FFI.dlopen = dlopen
'''
INSTALL = "libpango-1.0-0 libpangoft2-1.0-0; Homebrew: brew install pango"


@pytest.fixture(autouse=True)
def no_pango(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every process these tests start (they inherit os.environ) runs without Pango."""
    shim = tmp_path / "shim"
    shim.mkdir()
    (shim / "sitecustomize.py").write_text(SHIM)
    monkeypatch.setenv("PYTHONPATH", str(shim))
    monkeypatch.setenv("OMP_NUM_THREADS", "1")


@pytest.fixture
def policy(tmp_path: Path) -> Path:
    path = tmp_path / "policy.yaml"
    path.write_text(LENIENT)
    return path


def sia_audit(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sia_audit", *args], capture_output=True, text=True, timeout=300
    )


def the_error(done: subprocess.CompletedProcess[str]) -> str:
    """The one line of a run that could not start; stdout stays clean (no WeasyPrint banner)."""
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("sia-audit: error: report.pdf"), lines
    assert done.stdout == ""
    assert "WeasyPrint failed (cannot load library '" in lines[0] and INSTALL in lines[0]
    return lines[0]


def test_the_shim_removes_pango() -> None:
    done = subprocess.run([sys.executable, "-c", "import weasyprint"], capture_output=True)
    assert done.returncode == 1 and b"OSError: cannot load library" in done.stderr


def test_run_says_what_to_install_before_the_audit_and_format_skips_the_pdf(
    tmp_path: Path, policy: Path
) -> None:
    out = tmp_path / "out"
    line = the_error(sia_audit("run", TARGET, "--policy", str(policy), "--out", str(out)))
    assert "or leave the PDF out with --format json,html,md" in line
    assert not out.exists()
    # What the line advises works on the same machine.
    done = sia_audit(
        "run", TARGET, "--policy", str(policy), "--out", str(out), "--format", "json,html,md"
    )
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in out.iterdir()) == ["report.html", "report.json", "summary.md"]


def test_demo_says_what_to_install_and_how_to_audit_without_the_pdf(tmp_path: Path) -> None:
    out = tmp_path / "demo-out"
    line = the_error(sia_audit("demo", "--out", str(out)))
    assert "or audit without the PDF: sia-audit run " in line
    assert "eyeglasses_biased.pt --policy " in line and "--format json,html,md" in line
    assert not out.exists()


def test_render_says_what_to_install(tmp_path: Path) -> None:
    shutil.copy(DATA, tmp_path / "report.json")
    out = tmp_path / "out"
    the_error(sia_audit("render", str(tmp_path / "report.json"), "--out", str(out)))
    assert not out.exists() or not any(out.iterdir())


def test_under_torchrun_every_rank_stops_before_the_attack(tmp_path: Path, policy: Path) -> None:
    out = tmp_path / "out"
    args = [TARGET, "--policy", str(policy)]
    assert run_two_ranks(tmp_path, args, args, out) == [2, 2]
    r0 = (tmp_path / "rank0.err").read_text().strip().splitlines()
    r1 = (tmp_path / "rank1.err").read_text().strip().splitlines()
    assert len(r0) == 1 and INSTALL in r0[0] and "--format json,html,md" in r0[0], r0
    assert len(r1) == 1 and "rank 0 could not start the run: report.pdf" in r1[0], r1
    assert not out.exists()
