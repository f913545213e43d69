"""A local runner for the composite action's `run:` steps, close to what GitHub does.

Steps run in order with `bash --noprofile --norc -eo pipefail` (GitHub's bash), their `env:`
evaluated from the inputs and earlier steps' outputs, and the GitHub environment files
(GITHUB_OUTPUT, GITHUB_STEP_SUMMARY, GITHUB_ENV) set. `uses:` steps (setup-python, the artifact
upload) need GitHub and are recorded, not run; the install step is skipped and the project's
.venv stands in for the installed tool (its bin folder comes first on PATH). Expressions are the
small subset action.yml uses: `inputs.x`, `steps.id.outputs.x`, `github.action_path`, string
comparison, `&&` and `always()`.
"""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = ROOT / ".venv" / "bin"
MODELS = ROOT / "examples" / "models"
FAIRNESS = ROOT / "policies" / "fairness.yaml"
FAST = "--format json,md --quiet"  # no PDF: the figures and the job summary are the same
EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")


def load_action() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "action.yml").read_text())


@dataclass
class ActionRun:
    """The outcome of one local run of the action."""

    outputs: dict[str, str]
    summary: str
    failed_step: str | None  # the name of the step that failed the job, or None
    skipped: list[str] = field(default_factory=list)  # steps whose `if:` was false
    not_run: list[str] = field(default_factory=list)  # `uses:` and install steps


class Context:
    def __init__(self, inputs: dict[str, str]) -> None:
        self.inputs = inputs
        self.steps: dict[str, dict[str, str]] = {}
        self.failed = False

    def value(self, expr: str) -> str:
        expr = expr.strip()
        if expr.startswith("inputs."):
            return self.inputs.get(expr[len("inputs.") :], "")
        if expr == "github.action_path":
            return str(ROOT)
        m = re.fullmatch(r"steps\.([\w-]+)\.outputs\.([\w-]+)", expr)
        if m:
            return self.steps.get(m.group(1), {}).get(m.group(2), "")
        m = re.fullmatch(r"'([^']*)'", expr)
        if m:
            return m.group(1)
        raise ValueError(f"the harness does not understand the expression {expr!r}")

    def condition(self, text: str) -> bool:
        text = EXPRESSION.sub(lambda m: m.group(1), text)
        ok = True
        special = False
        for term in (t.strip() for t in text.split("&&")):
            if term == "always()":
                special = True
            elif "!=" in term:
                a, b = term.split("!=")
                ok &= self.value(a) != self.value(b)
            elif "==" in term:
                a, b = term.split("==")
                ok &= self.value(a) == self.value(b)
            else:
                raise ValueError(f"the harness does not understand the condition {term!r}")
        # Without always() (or another status function) a step runs only if nothing failed.
        return ok and (special or not self.failed)

    def expand(self, text: str) -> str:
        return EXPRESSION.sub(lambda m: self.value(m.group(1)), text)


def read_outputs(path: Path) -> dict[str, str]:
    out: dict[str, str] = {}
    for line in path.read_text().splitlines():
        if "=" in line:
            key, _, value = line.partition("=")
            out[key] = value
    return out


def run_action(inputs: dict[str, str], workdir: Path) -> ActionRun:
    """Run action.yml's steps in `workdir` (the checkout of the user's repository)."""
    action = load_action()
    given = {k: str(v.get("default", "")) for k, v in action["inputs"].items()}
    given.update(inputs)
    ctx = Context(given)
    files = {n: workdir / f".gh-{n.lower()}" for n in ("OUTPUT", "STEP_SUMMARY", "ENV")}
    for f in files.values():
        f.write_text("")
    result = ActionRun({}, "", None)
    for step in action["runs"]["steps"]:
        name = step.get("name", step.get("id", "?"))
        if "if" in step and not ctx.condition(str(step["if"])):
            result.skipped.append(name)
            continue
        if "uses" in step or step.get("id") == "install":
            result.not_run.append(name)
            continue
        env = {
            **os.environ,
            "PATH": f"{VENV_BIN}{os.pathsep}{os.environ['PATH']}",
            "GITHUB_ACTION_PATH": str(ROOT),
            **{f"GITHUB_{n}": str(p) for n, p in files.items()},
            **{k: ctx.expand(str(v)) for k, v in step.get("env", {}).items()},
        }
        assert step["shell"] == "bash", "every run step names its shell"
        files["OUTPUT"].write_text("")
        done = subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]],
            cwd=workdir,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        if "id" in step:
            ctx.steps[step["id"]] = read_outputs(files["OUTPUT"])
        if done.returncode != 0:
            ctx.failed = True
            result.failed_step = result.failed_step or name
    result.summary = files["STEP_SUMMARY"].read_text()
    result.outputs = {k: ctx.expand(str(v["value"])) for k, v in action.get("outputs", {}).items()}
    return result


def violated(folder: Path) -> Path:
    """policies/fairness.yaml shrunk to 8 probes and 2 attack steps, with one gate no model
    passes (s of Mustache at most 0: the attack moves every attribute it may), written into
    `folder`: a run under it fails a gate in seconds."""
    policy = yaml.safe_load(FAIRNESS.read_text())
    policy["probes"]["count"] = 8
    policy["attack"]["steps"] = 2
    policy["bootstrap"]["resamples"] = 100
    policy["gates"]["sensitivity"] = {"max": 0.0, "attributes": ["Mustache"]}
    out = folder / "violated.yaml"
    out.write_text(yaml.safe_dump(policy, sort_keys=False))
    return out


def audit_demo_model(workdir: Path, name: str, **extra: str) -> ActionRun:
    """The action on a shipped demo model and its ONNX export under policies/fairness.yaml."""
    inputs = {
        "model": str(MODELS / f"{name}.pt"),
        "onnx-model": str(MODELS / f"{name}.onnx"),
        "policy": str(FAIRNESS),
        "output": "report",
        "extra-args": FAST,
        **extra,
    }
    return run_action(inputs, workdir)
