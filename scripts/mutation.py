"""Mutation testing of the code that decides a verdict: how many broken gates the tests catch.

Two passes over the modules in SCOPE (docs/mutation.md says how to read the result):

1. mutmut mutates every function body (comparisons, arithmetic, constants, arguments, return
   values) and runs, for each mutant, the fast unit tests that call that function (the
   selection in pyproject.toml's [tool.mutmut]; never an audit).
2. mutmut does not touch what is defined outside a function: the modules' constants (the
   provenance keys a baseline must match, the rounding floors, the flags' levels and shares)
   and the policy's field defaults (`use_confidence`) and bounds. This script mutates those
   itself, one at a time in a copy of the package, with the same rules where they apply:
   True <-> False, a number n -> n + 1, one name dropped from a literal list of names, one
   entry dropped from a literal table. Each mutant runs the whole fast selection in a process
   forked from one that has imported torch and pytest, so it costs seconds.

A mutant is killed when a test fails. What survives is either a gap in the tests or a change
that makes no difference to behaviour (an equivalent mutant): EQUIVALENT lists those, each with
the reason, and the score leaves them out. The run ends with a table per module and exits 1
when the score is below --min-score.

    nice -n 19 .venv/bin/python scripts/mutation.py            # both passes, from scratch
    nice -n 19 .venv/bin/python scripts/mutation.py --again    # rerun only what was not killed

Results stay in mutants/ (git-ignored): `mutmut show NAME` prints one mutant's diff, and
mutants/score.json holds the last table.
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import dataclasses
import fnmatch
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import tomllib
from collections import Counter, defaultdict
from collections.abc import Iterator, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MUTANTS = ROOT / "mutants"

# The modules that decide a verdict. mutmut's names are module.function__mutmut_N.
SCOPE = (
    "sia_audit/gates/*.py",
    "sia_audit/metrics/bootstrap.py",
    "sia_audit/metrics/sensitivity.py",
    "sia_audit/policy/gates.py",
    "sia_audit/report_schema/*.py",
    "sia_audit/cli.py",  # the exit-code mapping: 2 bad input, 3 internal error, 130 / 143
    "sia_audit/errors.py",
)
# From a module that does more, only the functions that map a verdict to an exit code.
FUNCTIONS = ("sia_audit.commands.run.x_finish__mutmut_*",)

# Survivors judged equivalent: (mutant name pattern, text of the mutated line, why). The line
# is matched as a substring of the mutant's `+` line, so a renumbering after an edit elsewhere
# in the function does not lose the judgement; a changed line does, and must be judged again.
ZIP = "names and the mask have one entry per attribute by construction: strict changes nothing"
SKIP_ONLY = "only `skip` is compared: any other value fails the run, as `fail` does"
ONE_PROBE = "a run has a probe at least (probes.count >= 1): a non-empty list of bools is bool"
PLACEHOLDER = "a placeholder whose message unmeasurable() replaces, or a new skip replaces"
EQUIVALENT: tuple[tuple[str, str, str], ...] = (
    ("sia_audit.metrics.sensitivity.*", "zip(names, mask.tolist(),", ZIP),
    ("sia_audit.metrics.sensitivity.*as_dict*", "zip(self.attributes, self.s,",
     "s is built from the attributes, one each: strict changes nothing"),
    ("sia_audit.metrics.sensitivity.x__stack_figures*", "+1",
     "the statistic always gets (resamples, figures): dimension +1 is dimension -1"),
    ("sia_audit.metrics.sensitivity.x__stack_figures*", "s[..., :2]",
     "with no measurable attribute both SDARs are 0; a second zero column is never read"),
    ("sia_audit.metrics.sensitivity.x_histogram_values*", "torch.where(",
     "s is a mean of absolute values: where the sum is 0 every s is 0, and 0 / anything is 0"),
    ("sia_audit.metrics.sensitivity.x_resolve_measurable*", "torch.tensor([n not in",
     "a non-empty list of bools is a bool tensor with or without the dtype"),
    ("sia_audit.metrics.sensitivity.x_single_attribute_sensitivity*", "or True else list(",
     "iterating a tensor yields the same slices as unbind(0)"),
    ("sia_audit.metrics.sensitivity.x_single_attribute_sensitivity*", "torch.zeros(n",
     "torch.stack promotes the frozen column's zeros to the runs' float64"),
    ("sia_audit.metrics.sensitivity.x_single_attribute_sensitivity*", '.to("cpu", ',
     "torch.stack promotes a float32 run to float64 exactly as the cast does"),
    ("sia_audit.metrics.sensitivity.x__meanings*", "n_unmeasurable: int = 1",
     "every caller passes n_unmeasurable"),
    ("sia_audit.metrics.bootstrap.x__summarise*", "n, 0, config, )", "reps defaults to None"),
    ("sia_audit.metrics.bootstrap.x_align_by_id*", "for pid in base_ids], ",
     "a list of Python ints is an int64 (torch.long) tensor with or without the dtype"),
    ("sia_audit.metrics.bootstrap.x_align_by_id*", "dtype=None",
     "a list of Python ints is an int64 (torch.long) tensor with or without the dtype"),
    ("sia_audit.metrics.bootstrap.x_paired_bootstrap*", "if base_ids is not None or head_ids",
     "both ids or neither were given (refused otherwise just above): or is and here"),
    ("sia_audit.metrics.bootstrap.x_simultaneous_margin*", "reps.shape[0] < 2 and point.numel",
     "one resample gives NaN standard errors and no figure nothing to vary: the same zeros"),
    ("sia_audit.gates.regression.x__paired*", 'return rep, "XXXX"',
     "the reason is read only when there are no replicates"),
    ("sia_audit.gates.regression.x_regression_verdicts*", "on_unmeasurable: OnUnmeasurable =",
     SKIP_ONLY),
    ("sia_audit.gates.thresholds.x_evaluate*", "on_unmeasurable: OnUnmeasurable =", SKIP_ONLY),
    ("sia_audit.gates.thresholds.x_unmeasurable*", "on_unmeasurable: OnUnmeasurable =",
     SKIP_ONLY),
    ("sia_audit.gates.regression.x_regression_verdicts*", "paired by probe, of clean accuracy",
     "the verdict keeps the change and its interval, not the estimate's definition"),
    ("sia_audit.gates.regression.x_regression_verdicts*", "PAIRED BY PROBE, OF CLEAN ACCURACY",
     "the verdict keeps the change and its interval, not the estimate's definition"),
    ("sia_audit.gates.regression.x__per_attribute_verdicts*", "verdict = skipped(gate,",
     PLACEHOLDER),
    ("sia_audit.gates.thresholds.x__per_attribute*", "skipped(gate, None)", PLACEHOLDER),
    ("sia_audit.gates.thresholds.x__per_attribute*", 'skipped(gate, "XXXX")', PLACEHOLDER),
    ("sia_audit.gates.rise.x_check_fall*", "fall = Rise(-change.value, -change.high, ",
     "the rule reads a fall's value, low end and test count, never its high end"),
    ("sia_audit.gates.rise.x_check_fall*", 'note, "fell", ',
     "_verdict asks whether the bound is max; any other value means min"),
    ("sia_audit.gates.thresholds.x_onnx_verdicts*", "exact = Estimate(d, d, d, ",
     "check_max reads the value and the interval, not n, the level or the definition"),
    ("sia_audit.gates.calibrate.x_calibrate*", "getattr(policy.gates, gate, )",
     "every gate in BY_GATE is a field of GatesSection: the default is never used"),
    ("sia_audit.gates.calibrate.x_calibrate*", 'getattr(g, "normalised", None)',
     "None and False are both false"),
    ("sia_audit.gates.calibrate.x_as_yaml*", 'extra = f", attributes: {listed}"',
     "only sdar's row has text before it (on:), and sdar has no attributes"),
    ("sia_audit.report_schema.figures.x__field*", "return d.texts(key, ",
     "no record has a list of names made with older(): missing_ok is False there"),
    ("sia_audit.report_schema.report.*ReportRecord*__init__*", "Node(self.data, None)",
     "Node.at treats a None path as the root's empty path"),
    ("sia_audit.report_schema.report.x_load*", 'decode("UTF-8")',
     "codec names are case-insensitive"),
    ("sia_audit.report_schema.per_attribute.x_headline*", 'return BY_KEY["',
     "unreachable: a report holds s for every attribute, so the loop returns s at the latest"),
    ("sia_audit.report_schema.per_attribute:*drop 's'", "",
     "without s in the list the headline falls back to s all the same"),
    ("sia_audit.gates.regression.x_regression_verdicts*", "+out = _per_attribute_verdicts(",
     "out is empty just before: = and += give the same list"),
    *(("sia_audit.gates.regression.x_table_from_report*", f"+{line}",
       ONE_PROBE)
      for field, key in (("correct_clean", "correct_clean"), ("correct_adv", "correct_adversary"))
      for line in (f"{field}=torch.tensor(p.{key}, dtype=None)",
                   f"{field}=torch.tensor(p.{key}, )")),
    *(("sia_audit.gates.regression.x_table_from_report*",
       f"+else torch.tensor(p.flip_changed, {x})", ONE_PROBE) for x in ("dtype=None", "")),
    ("sia_audit.cli.*_Cli*make_context*", '.rstrip("XX.XX")',
     "the group's own errors (an unknown option or command) end in a quote, never in an X"),
    ("sia_audit.cli.*_Cli*make_context*", "super().make_context(info_name, args, None",
     "the group is the top-level command: its parent is None"),
    ("sia_audit.cli.*_Cli*make_context*", "super().make_context(info_name, args, **extra)",
     "the group is the top-level command: its parent is None"),
    ("sia_audit.cli.*_Cli*make_context*", "super().make_context(info_name, args, parent, )",
     "the console script passes no context settings: extra is empty"),
    *(("sia_audit.metrics.bootstrap.*", f"+{line}",
       "the tests run on a CPU, where the values already are: .to('cpu') moves only CUDA "
       "tensors, and the figures are the same float64 numbers wherever they are computed")
      for line in ("v = values.detach().to(None, torch.float64)",
                   "v = values.detach().to(torch.float64)",
                   "b = base.detach().to(None, torch.float64)",
                   "b = base.detach().to(torch.float64)",
                   "h = head.detach().to(None, torch.float64)",
                   "h = head.detach().to(torch.float64)",
                   "flat = values.detach().to(None, torch.float64)",
                   "flat = values.detach().to(torch.float64)")),
    ("sia_audit.gates.calibrate.x_as_yaml*", 'getattr(g, "normalised", None)',
     "None and False are both false"),
    ("sia_audit.gates.calibrate.x_as_yaml*", 'extra = ", normalised: true"',
     "only a sensitivity gate has `normalised`, and its extra is empty before: = and += agree"),
)  # fmt: skip

MUTMUT_STATUS = {1: "killed", 3: "killed", 0: "survived", 5: "no tests", 33: "no tests",
                 34: "skipped", 36: "timeout", 24: "timeout", -24: "timeout", 152: "timeout",
                 255: "timeout", 37: "killed", None: "not run"}  # fmt: skip


def _module(path: str) -> str:
    return path.removesuffix(".py").replace("/", ".")


def in_scope(name: str) -> bool:
    """A mutmut mutant name within SCOPE or FUNCTIONS."""
    module = name.split(".x_")[0].split(".xǁ")[0]
    return any(fnmatch.fnmatch(module, _module(p)) for p in SCOPE) or any(
        fnmatch.fnmatch(name, p) for p in FUNCTIONS
    )


def scope_patterns() -> list[str]:
    return [_module(p) + ".*" for p in SCOPE] + list(FUNCTIONS)


def selection() -> list[str]:
    """The fast tests, as pyproject.toml's [tool.mutmut] selects them for mutmut."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["mutmut"]
    return list(config["pytest_add_cli_args_test_selection"])


def quiet_env() -> dict[str, str]:
    # One thread per test process: the children share two cores with whatever else runs.
    return {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "PYTHONHASHSEED": "0"}


# ---------------------------------------------------------------------------------------------
# Pass 1: mutmut


def run_mutmut(names: Sequence[str], children: int) -> None:
    cmd = [sys.executable, "-m", "mutmut", "run", "--max-children", str(children), *names]
    MUTANTS.mkdir(exist_ok=True)
    with open(MUTANTS / "mutmut.log", "w") as out:
        code = subprocess.call(cmd, cwd=ROOT, env=quiet_env(), stdout=out, stderr=subprocess.STDOUT)
    if code != 0:
        tail = (MUTANTS / "mutmut.log").read_text(errors="replace")[-3000:]
        sys.exit(f"mutation: mutmut failed ({code}); the end of mutants/mutmut.log:\n{tail}")


def mutmut_results() -> dict[str, str]:
    """Every in-scope mutmut mutant and its status."""
    out = {}
    for meta in MUTANTS.glob("sia_audit/**/*.py.meta"):
        codes = json.loads(meta.read_text())["exit_code_by_key"]
        for name, code in codes.items():
            if in_scope(name):
                out[name] = MUTMUT_STATUS.get(code, "suspicious")
    return out


def mutated_line(name: str) -> str:
    """A mutmut mutant's diff on one line: `-old +new` (an argument dropped has no `+`)."""
    from mutmut.mutation.diff_apply import get_diff_for_mutant

    with contextlib.chdir(ROOT):
        diff = get_diff_for_mutant(name).splitlines()
    changed = [x for x in diff if x[:1] in "+-" and x[:3] not in ("+++", "---")]
    return " ".join(x[0] + x[1:].strip() for x in sorted(changed, key=lambda x: x[0] == "+"))


def mutmut_module(name: str) -> tuple[str, str]:
    """The path of a mutmut mutant's module and the module's source with that mutant applied,
    as a plain edit of the function (no trampoline): what `mutmut apply` writes, but returned,
    and with a method found in its own class (mutmut's apply takes the first of that name)."""
    import libcst as cst
    from mutmut.mutation.diff_apply import find_mutant, read_functions_from_index
    from mutmut.utils.format_utils import orig_function_and_class_names_from_key

    with contextlib.chdir(ROOT):
        path = str(find_mutant(name).path)
        functions = read_functions_from_index(name, path)
    if functions is None:
        raise RuntimeError(f"mutation: no index of the functions of {path}; run mutmut again")
    function, class_name = orig_function_and_class_names_from_key(name)
    module = cst.parse_module((ROOT / path).read_text())
    body = module.body
    if class_name is not None:
        [cls] = [c for c in body if isinstance(c, cst.ClassDef) and c.name.value == class_name]
        body = cls.body.body
    [original] = [f for f in body if isinstance(f, cst.FunctionDef) and f.name.value == function]
    mutant = functions[1].with_changes(name=cst.Name(function))
    return path, module.deep_replace(original, mutant).code


# ---------------------------------------------------------------------------------------------
# Pass 2: definitions outside functions


@dataclasses.dataclass(frozen=True)
class Mutant:
    name: str  # module.line:column kind
    path: str
    source: str  # the whole mutated module
    line: str  # the mutated line, as it reads after the mutation


class _Definitions(ast.NodeVisitor):
    """Collects the mutable places of module- and class-level assignments and call defaults."""

    SKIP_KEYWORDS = frozenset({"description", "help", "title"})

    def __init__(self) -> None:
        self.places: list[tuple[ast.AST, str]] = []  # (node, kind)

    def visit_body(self, body: list[ast.stmt]) -> None:
        for stmt in body:
            if isinstance(stmt, ast.ClassDef):
                self.visit_body(stmt.body)
            elif isinstance(stmt, ast.Assign | ast.AnnAssign) and stmt.value is not None:
                if isinstance(stmt, ast.Assign) and any(
                    isinstance(t, ast.Name) and t.id == "__all__" for t in stmt.targets
                ):
                    continue
                self.value(stmt.value, top=True)

    def value(self, node: ast.AST, top: bool = False) -> None:
        """`top`: the assigned value itself, where a list of names or a table of constants is
        what the module defines (nested ones are parts of records, e.g. a command's row)."""
        if isinstance(node, ast.Constant):
            if isinstance(node.value, bool):
                self.places.append((node, "flip"))
            elif isinstance(node.value, int | float):
                self.places.append((node, "plus one"))
        elif isinstance(node, ast.Tuple | ast.List | ast.Set):
            if top and node.elts and all(_is_text(e) for e in node.elts):
                self.places += [(node, f"drop {i}") for i in range(len(node.elts))]
            for e in node.elts:
                self.value(e)
        elif isinstance(node, ast.Dict):
            named = [(k, v) for k, v in zip(node.keys, node.values, strict=True) if k is not None]
            simple = all(isinstance(v, ast.Constant) for _, v in named)
            for i, (k, v) in enumerate(zip(node.keys, node.values, strict=True)):
                if top and simple and k is not None and _is_text(k):
                    self.places.append((node, f"drop {i}"))
                self.value(v)
        elif isinstance(node, ast.Call):
            for a in node.args:
                self.value(a)
            for kw in node.keywords:
                if kw.arg not in self.SKIP_KEYWORDS:
                    self.value(kw.value)
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            self.value(node.operand)
        elif isinstance(node, ast.BinOp):
            self.value(node.left)
            self.value(node.right)


def _is_text(node: ast.AST) -> bool:
    return isinstance(node, ast.Constant) and isinstance(node.value, str)


def _replace(source: str, node: ast.AST, new: str) -> str:
    start, end = _span(source, node)
    return source[:start] + new + source[end:]


def definition_mutants(path: str) -> list[Mutant]:
    source = (ROOT / path).read_text()
    tree = ast.parse(source)
    finder = _Definitions()
    finder.visit_body(tree.body)
    out = []
    for node, kind in finder.places:
        if kind == "flip":
            new = str(not node.value)
        elif kind == "plus one":
            new = repr(node.value + 1)
        else:  # drop i: one name from a list of names, one entry from a table
            i = int(kind.split()[1])
            new = ast.unparse(_without(node, i))
            kind = f"drop {_name(node, i)!r}"
        mutated = _replace(source, node, new)
        try:
            ast.parse(mutated)
        except SyntaxError:
            continue
        shown = source.splitlines()[node.lineno - 1].strip() if "\n" in new else ""
        line = shown or mutated.splitlines()[node.lineno - 1].strip()
        if kind.startswith("drop"):
            line = new
        name = f"{_module(path)}:{node.lineno}:{node.col_offset} {kind}"
        out.append(Mutant(name, path, mutated, line))
    return out


def _without(node: ast.AST, i: int) -> ast.AST:
    if isinstance(node, ast.Dict):
        keys, values = list(node.keys), list(node.values)
        del keys[i], values[i]
        return ast.Dict(keys=keys, values=values)
    elts = list(node.elts)
    del elts[i]
    return (
        type(node)(elts=elts, ctx=ast.Load())
        if not isinstance(node, ast.Set)
        else (ast.Set(elts=elts) if elts else ast.Call(ast.Name("set", ast.Load()), [], []))
    )


def _name(node: ast.AST, i: int) -> str:
    item = node.keys[i] if isinstance(node, ast.Dict) else node.elts[i]
    return item.value


def _span(source: str, node: ast.AST) -> tuple[int, int]:
    lines = source.splitlines(keepends=True)
    start = sum(len(x) for x in lines[: node.lineno - 1]) + node.col_offset
    end = sum(len(x) for x in lines[: node.end_lineno - 1]) + node.end_col_offset
    return start, end


def _copy_tree(work: Path) -> None:
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(ROOT / "sia_audit", work / "sia_audit", symlinks=False, ignore=ignore)
    shutil.copytree(ROOT / "tests", work / "tests", ignore=ignore)
    for extra in ("policies", "pyproject.toml"):
        src = ROOT / extra
        if src.is_dir():
            shutil.copytree(src, work / extra, ignore=ignore)
        elif src.exists():
            shutil.copy2(src, work / extra)


def run_definition_mutants(mutants: Sequence[Mutant], timeout: float) -> dict[str, str]:
    """Each mutant's status, tried one at a time in a copy of the package."""
    import pytest  # noqa: F401 - imported once here, so that each forked child starts warm
    import torch  # noqa: F401

    results = {}
    args = ["-x", "-q", "-p", "no:cacheprovider", "-p", "no:randomly", *selection()]
    with tempfile.TemporaryDirectory(prefix="sia-mutation-") as tmp:
        work = Path(tmp)
        _copy_tree(work)
        for i, m in enumerate(mutants, 1):
            target = work / m.path
            original = target.read_text()
            target.write_text(m.source)
            try:
                results[m.name] = _run_forked(work, args, timeout)
            finally:
                target.write_text(original)
            print(f"  {i}/{len(mutants)} {results[m.name]:8s} {m.name}", flush=True)
    return results


def _run_forked(work: Path, args: list[str], timeout: float) -> str:
    pid = os.fork()
    if pid == 0:  # the child: import the mutated package from the copy, run the tests
        code = 3
        try:
            os.chdir(work)
            sys.dont_write_bytecode = True
            sys.path[:] = [str(work)] + [p for p in sys.path if Path(p or ".").resolve() != ROOT]
            for key in [k for k in sys.modules if k.split(".")[0] in ("sia_audit", "tests")]:
                del sys.modules[key]
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, 1)
            os.dup2(devnull, 2)
            import pytest

            code = int(pytest.main(args))
        finally:
            os._exit(code)
    deadline = time.monotonic() + timeout
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            code = os.waitstatus_to_exitcode(status)
            return "survived" if code == 0 else "killed" if code in (1, 2, 3) else f"error {code}"
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            return "timeout"
        time.sleep(0.2)


# ---------------------------------------------------------------------------------------------
# The score


def equivalent(name: str, line: str) -> str | None:
    for pattern, text, why in EQUIVALENT:
        if fnmatch.fnmatch(name, pattern) and text in line:
            return why
    return None


def module_of(name: str) -> str:
    if ":" in name:  # a definition mutant: module:line:col kind
        return name.split(":")[0]
    return name.split(".x_")[0].split(".xǁ")[0]


def score(results: dict[str, str], lines: dict[str, str]) -> dict:
    """Per module and overall: total, killed, survived, no tests, timeout, equivalent."""
    table: dict[str, Counter] = defaultdict(Counter)
    judged = {}
    for name, status in results.items():
        row = table[module_of(name)]
        row["total"] += 1
        if status in ("killed", "timeout"):
            row[status] += 1
            continue
        why = equivalent(name, lines.get(name, ""))
        if why is not None:
            row["equivalent"] += 1
            judged[name] = why
        else:
            row[status] += 1
    overall = sum(table.values(), Counter())
    return {"modules": {k: dict(v) for k, v in sorted(table.items())},
            "overall": dict(overall), "equivalent": judged}  # fmt: skip


def percent(row: dict) -> float:
    """Killed (timeouts count: the mutant made the tests hang) of the non-equivalent mutants."""
    changed = row.get("total", 0) - row.get("equivalent", 0)
    return 100.0 * (row.get("killed", 0) + row.get("timeout", 0)) / changed if changed else 100.0


def print_table(result: dict) -> None:
    cols = ("total", "killed", "survived", "no tests", "timeout", "equivalent")
    print(f"{'module':42s}" + "".join(f"{c:>11s}" for c in cols) + f"{'score':>8s}")
    rows = [*result["modules"].items(), ("overall", result["overall"])]
    for module, row in rows:
        cells = "".join(f"{row.get(c, 0):>11d}" for c in cols)
        print(f"{module:42s}{cells}{percent(row):>7.1f}%")


def survivors(results: dict[str, str], judged: dict[str, str]) -> Iterator[str]:
    for name, status in sorted(results.items()):
        if status not in ("killed", "timeout") and name not in judged:
            yield name


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--again", action="store_true",
                        help="rerun only the mutants that were not killed last time")  # fmt: skip
    parser.add_argument("--children", type=int, default=2, help="mutmut's parallel workers")
    parser.add_argument("--skip-mutmut", action="store_true", help="only the definitions pass")
    parser.add_argument("--skip-definitions", action="store_true", help="only the mutmut pass")
    parser.add_argument(
        "--no-confirm", action="store_true", help="do not retry mutmut's survivors in a copy"
    )
    parser.add_argument("--timeout", type=float, default=300, help="seconds per definition mutant")
    parser.add_argument("--min-score", type=float, default=90.0, help="percent; exit 1 below it")
    parser.add_argument("--list", action="store_true", help="print each survivor's mutated line")
    opts = parser.parse_args()
    os.nice(max(0, 19 - os.nice(0)))  # never compete with the work this machine is doing
    os.environ.update(quiet_env())  # before torch is imported for the forked definitions pass
    os.chdir(ROOT)
    started = time.monotonic()
    previous = MUTANTS / "score.json"
    last = json.loads(previous.read_text()) if opts.again and previous.exists() else None
    if not opts.again and MUTANTS.exists():
        shutil.rmtree(MUTANTS)
    if not opts.skip_mutmut:
        if last is None:
            run_mutmut(scope_patterns(), opts.children)
        else:
            names = [n for n in last["not_killed"] if ":" not in n]
            if names:
                run_mutmut(names, opts.children)
    mutmut_seconds = time.monotonic() - started
    results = mutmut_results()
    definitions = [m for p in _scope_files() for m in definition_mutants(p)]
    lines = {m.name: m.line for m in definitions}
    if not opts.skip_definitions:
        again = None if last is None else set(last["not_killed"])
        todo = [m for m in definitions if again is None or m.name in again]
        done = run_definition_mutants(todo, opts.timeout)
        kept = {k: v for k, v in (last or {}).get("definitions", {}).items()
                if k in lines and k not in done}  # fmt: skip
        results.update({**kept, **done})
        definitions_results = {**kept, **done}
    else:
        definitions_results = {}
    for name, status in results.items():
        if status not in ("killed", "timeout") and name not in lines:
            lines[name] = mutated_line(name)
    confirmed: list[str] = []
    if not opts.no_confirm:
        # A second look at what mutmut left, one at a time in a copy of the package: mutmut
        # switches a mutant on per call, so a function that runs while the package is imported
        # (a class body's helper, a table built from calls) keeps its original there.
        left = [n for n, st in results.items() if st not in ("killed", "timeout") and ":" not in n]
        left = [n for n in left if equivalent(n, lines.get(n, "")) is None]
        copies = [Mutant(n, *mutmut_module(n), lines.get(n, "")) for n in sorted(left)]
        for name, status in run_definition_mutants(copies, opts.timeout).items():
            if status in ("killed", "timeout"):
                results[name] = status
                confirmed.append(name)
    result = score(results, lines)
    result["seconds"] = {"mutmut": round(mutmut_seconds),
                         "total": round(time.monotonic() - started)}  # fmt: skip
    result["not_killed"] = sorted(n for n, s in results.items() if s not in ("killed", "timeout"))
    result["definitions"] = definitions_results
    result["killed_in_a_copy"] = sorted(confirmed)
    MUTANTS.mkdir(exist_ok=True)
    (MUTANTS / "score.json").write_text(json.dumps(result, indent=1, ensure_ascii=False))
    print_table(result)
    left = list(survivors(results, result["equivalent"]))
    print(f"\n{len(left)} survivors not judged equivalent; {len(result['equivalent'])} judged so")
    if opts.list:
        for name in left:
            print(f"  {name} [{results[name]}]: {lines.get(name, '')}")
    print(f"mutation: {result['seconds']['total']} s (mutmut {result['seconds']['mutmut']} s)")
    sys.exit(0 if percent(result["overall"]) >= opts.min_score else 1)


def _scope_files() -> list[str]:
    files = []
    for pattern in SCOPE:
        files += sorted(str(p.relative_to(ROOT)) for p in ROOT.glob(pattern))
    return files


if __name__ == "__main__":
    main()
