"""The templates ship in the wheel: a non-editable install renders the reports.

(tests/packaging/test_wheel.py installs the same wheel and runs the demo from it.)
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

from setuptools import find_packages

from tests.formats.conftest import DATA
from tests.packaging.wheel import build_wheel

ROOT = Path(__file__).resolve().parents[2]
# Folders outside sia_audit/ that pyproject installs as its subpackages.
MAPPED = {
    "sia_audit.templates": "templates",
    "sia_audit.demo_models": "examples/models",
    "sia_audit.demo_policies": "policies",
}


def test_pyproject_lists_every_package_and_the_mapped_folders() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    found = find_packages(where=str(ROOT), include=["sia_audit*"])
    assert sorted(config["packages"]) == sorted([*found, *MAPPED]), (
        "add the new subpackage to [tool.setuptools] packages in pyproject.toml"
    )
    assert config["package-dir"] == MAPPED


def test_a_wheel_install_renders_from_its_own_templates(tmp_path: Path) -> None:
    wheel = build_wheel(tmp_path)
    templates = {p.name for p in (ROOT / "templates").iterdir() if p.is_file()}
    with zipfile.ZipFile(wheel) as z:
        shipped = {Path(n).name for n in z.namelist() if n.startswith("sia_audit/templates/")}
        z.extractall(tmp_path / "site")
    assert templates <= shipped
    work = tmp_path / "work"
    work.mkdir()
    shutil.copy(DATA, work / "report.json")
    # Run from outside the repository with only the unpacked wheel on the path for sia_audit;
    # the formats alone (the CLI would import torch, which this check does not need).
    probe = (
        "import sys, pathlib, sia_audit.templates as t\n"
        "from sia_audit.formats import html, json_report, markdown, pdf\n"
        "print(t.__file__, file=sys.stderr)\n"
        "r = json_report.load(pathlib.Path('report.json'))\n"
        "pathlib.Path('report.html').write_bytes(html.render(r))\n"
        "pathlib.Path('summary.md').write_bytes(markdown.render(r))\n"
        "pathlib.Path('report.pdf').write_bytes(pdf.render(r))\n"
        "assert 'torch' not in sys.modules\n"
    )
    env = {**os.environ, "PYTHONPATH": str(tmp_path / "site")}
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=work, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr.startswith(str(tmp_path / "site" / "sia_audit" / "templates"))
    assert "sia-audit report" in (work / "report.html").read_text()
    assert (work / "summary.md").read_text().startswith("## sia-audit: FAILED")
    assert (work / "report.pdf").read_bytes().startswith(b"%PDF-1.7")
