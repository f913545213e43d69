"""The action's audit step: inputs from the environment to `sia-audit run`, without a shell.

Inputs arrive as INPUT_* environment variables (action.yml never expands them into script
text). Path inputs that look like options are refused, so a value such as `--allow-code` cannot
smuggle a flag in; extra arguments are split like a shell would (shlex) but never run by one,
and only the options listed in EXTRA_OPTIONS are accepted. The verdict, exit code and report
paths go to $GITHUB_OUTPUT; summary.md is appended to $GITHUB_STEP_SUMMARY.

The step itself fails only when the audit could not run: bad input (exit 2), an internal error
(exit 3: a bug, never a verdict) or an interruption (130, 143) all give verdict=error. A failed
gate (exit 1) is reported through the outputs, and the action's last step fails the job when
asked to.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

PATH_INPUTS = {  # env var -> sia-audit run option ("" for the positional model)
    "INPUT_MODEL": "",
    "INPUT_POLICY": "--policy",
    "INPUT_BASELINE": "--baseline",
    "INPUT_ONNX_MODEL": "--onnx",
    "INPUT_OUTPUT": "--out",
}
REQUIRED = ("INPUT_MODEL", "INPUT_POLICY", "INPUT_OUTPUT")
EXTRA_OPTIONS = {"--device": True, "--batch-size": True, "--format": True, "--quiet": False}
REPORTS = {
    "report-json": "report.json",
    "report-html": "report.html",
    "report-pdf": "report.pdf",
    "summary": "summary.md",
}


class InputError(ValueError):
    """An action input that cannot be used; the message names the input and the fix."""


def checked_value(name: str, value: str) -> str:
    if value.startswith("-"):
        raise InputError(f"{name} {value!r} looks like an option; give a path (e.g. ./{value})")
    if "\n" in value or "\r" in value or "\0" in value:
        raise InputError(f"{name} holds a line break or NUL; give a single path")
    return value


def extra_arguments(text: str) -> list[str]:
    """The extra-args input as a list, each option known and each value not option-like."""
    try:
        words = shlex.split(text)
    except ValueError as exc:
        raise InputError(f"extra-args cannot be split ({exc}); check its quotes") from exc
    out: list[str] = []
    i = 0
    while i < len(words):
        option, _, inline = words[i].partition("=")
        if option not in EXTRA_OPTIONS:
            allowed = ", ".join(EXTRA_OPTIONS)
            raise InputError(f"extra-args: {words[i]!r} is not allowed; use only {allowed}")
        if EXTRA_OPTIONS[option] and not inline:
            if i + 1 >= len(words):
                raise InputError(f"extra-args: {option} needs a value")
            i += 1
            inline = checked_value(f"extra-args {option}", words[i])
        out += [option, inline] if EXTRA_OPTIONS[option] else [option]
        i += 1
    return out


def command(env: dict[str, str]) -> list[str]:
    """The argument list of `sia-audit run` for these inputs."""
    for name in REQUIRED:
        if not env.get(name, "").strip():
            raise InputError(f"input {name[6:].lower().replace('_', '-')} is required")
    argv = [sys.executable, "-m", "sia_audit.cli", "run"]
    for name, option in PATH_INPUTS.items():
        value = env.get(name, "").strip()
        if value:
            label = name[6:].lower().replace("_", "-")
            argv += (
                [option, checked_value(label, value)] if option else [checked_value(label, value)]
            )
    return argv + extra_arguments(env.get("INPUT_EXTRA_ARGS", ""))


def append(path: str | None, text: str) -> None:
    if path:
        with open(path, "a", encoding="utf-8") as f:
            f.write(text)


def main() -> int:
    env = dict(os.environ)
    try:
        argv = command(env)
    except InputError as exc:
        print(f"::error title=sia-audit::{exc}")
        append(env.get("GITHUB_OUTPUT"), "verdict=error\nexit-code=2\n")
        append(env.get("GITHUB_STEP_SUMMARY"), f"## sia-audit: could not run\n\n{exc}\n")
        return 2
    print("running:", shlex.join(argv[1:]), flush=True)
    code = subprocess.run(argv, check=False).returncode  # a list: no shell ever sees the inputs
    out = Path(env["INPUT_OUTPUT"].strip())
    verdict = {0: "pass", 1: "fail"}.get(code, "error")  # 2, 3, 130, 143, a signal: error
    lines = [f"verdict={verdict}", f"exit-code={code}"]
    lines += [f"{key}={out / name}" for key, name in REPORTS.items() if (out / name).is_file()]
    append(env.get("GITHUB_OUTPUT"), "\n".join(lines) + "\n")
    summary = out / "summary.md"
    if verdict != "error" and summary.is_file():
        append(env.get("GITHUB_STEP_SUMMARY"), summary.read_text(encoding="utf-8") + "\n")
    else:
        append(
            env.get("GITHUB_STEP_SUMMARY"),
            f"## sia-audit: could not run (exit {code})\n\nSee the job log for the error.\n",
        )
    return 2 if verdict == "error" else 0


if __name__ == "__main__":
    sys.exit(main())
