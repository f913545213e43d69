"""`sia-audit demo`: the main job on the embedded default (synthfaces, shipped G, demo model).

It audits the deliberately biased demo classifier under `policies/fairness.yaml`, as a pull
request on the demo's truthful control: the control's own audit under the same policy ships
beside the model (scripts/make_demo_baseline.py) and is the run's baseline, so the regression
gates run too, without a second attack. The gates are expected to fail on the planted
attribute, so the demo exits 0 when they do (the tool did its job; `sia-audit run` on the same
model exits 1) and 1 when they do not (a broken demo).

The model and the policy ship in the package: pyproject maps `examples/models/` and `policies/`
to `sia_audit.demo_models` and `sia_audit.demo_policies`, so a wheel carries them and an editable
install reads them from the checkout, with one copy of each in git.
"""

from __future__ import annotations

import itertools
import shutil
import sys
from collections.abc import Collection, Mapping, Sequence
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING

import click

from sia_audit.commands.options import set_threads, threads_option
from sia_audit.errors import OutputError, UsageError
from sia_audit.formats.registry import FORMATS, write_reports
from sia_audit.policy import load_policy
from sia_audit.report_schema.per_attribute import lead_order

if TYPE_CHECKING:  # torch: imported when the demo runs, not for its --help
    from sia_audit.metrics import Estimate

MARKER = ".sia-audit-demo"  # only a folder carrying this is ever replaced by the demo
MODEL = ("sia_audit.demo_models", "eyeglasses_biased.pt")  # examples/models/ in the repository
POLICY = ("sia_audit.demo_policies", "fairness.yaml")  # policies/ in the repository
# The control's audit under POLICY (scripts/make_demo_baseline.py): the pull request's base.
BASELINE = ("sia_audit.demo_models", "eyeglasses_control.report.json")
PLANTED = "Mustache"  # the shortcut planted in MODEL's training data


def shipped(package: str, name: str) -> Path:
    """A file the package carries for the demo; a missing one is one line naming the fix."""
    try:
        path = Path(str(resources.files(package) / name))
    except ModuleNotFoundError:
        path = None
    if path is None or not path.is_file():
        raise UsageError(
            f"the demo's {name} is not installed with sia-audit; reinstall it "
            "(pip install sia-audit, or bash scripts/setup.sh in a clone)"
        )
    return path


def top3(
    names: Sequence[str],
    values: Sequence[Estimate],
    then: Sequence[Estimate] = (),
    unmeasurable: Collection[str] = (),
    signs: Mapping[str, int] = MappingProxyType({}),
) -> str:
    """The three largest measurable values in the report's order (ties broken by `then`), with
    their names (and the sign `signs` gives a name, where it gives one)."""
    ranked = sorted(
        (
            (n, e, t.value if t else 0.0)
            for n, e, t in itertools.zip_longest(names, values, then)
            if n not in unmeasurable
        ),
        key=lambda p: lead_order(p[1].value, p[2]),
    )
    sign = {name: "+" if v > 0 else "-" for name, v in signs.items()}
    return ", ".join(f"{name} {sign.get(name, '')}{e.value:.3f}" for name, e, _ in ranked[:3])


def _fresh_output(out: Path) -> None:
    """Clear a previous demo's folder; refuse any other non-empty folder (never lose data)."""
    if not out.exists():
        return
    if out.is_dir() and (out / MARKER).is_file():
        shutil.rmtree(out)
    elif not out.is_dir() or any(out.iterdir()):
        raise OutputError(f"{out} exists and was not written by the demo; choose another --out")


@click.command()
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    default=Path("demo-out"),
    show_default=True,
    help="Output folder (a previous demo's output there is replaced).",
)
@click.option("--count", type=click.IntRange(min=1), default=None, help="Probes [policy's].")
@threads_option()
def demo(out: Path, count: int | None, threads: int | None) -> None:
    """Audit the biased demo classifier on the embedded default; exit 0 if the gate catches it."""
    from sia_audit.app.run import preflight  # torch: not for --help
    from sia_audit.app.run import run as run_audit
    from sia_audit.probes.synthfaces.contact_sheet import contact_sheet

    set_threads(threads)
    model, policy_path = shipped(*MODEL), shipped(*POLICY)
    without_pdf = f"sia-audit run {model} --policy {policy_path} --format json,html,md"
    preflight(tuple(FORMATS.values()), None, no_pdf=f"or audit without the PDF: {without_pdf}")
    policy = load_policy(policy_path)
    baseline: Path | None = shipped(*BASELINE)
    if count is not None and count != policy.probes.count:
        policy = policy.model_copy(
            update={"probes": policy.probes.model_copy(update={"count": count})}
        )
        baseline = None  # the control's audit is on the policy's probes: nothing to pair with
    _fresh_output(out)
    click.echo(
        f"sia-audit demo: auditing {model.name}, an Eyeglasses classifier trained with a planted "
        f"{PLANTED} shortcut, on {policy.probes.count} synthetic faces through the shipped "
        f"generator, under {policy_path.name} (both ship with sia-audit)"
        + (", as a pull request on its truthful control (the control's audit is the baseline)"
           if baseline else "; no regression gates: the control's audit has other probes")
    )  # fmt: skip
    with click.progressbar(length=policy.probes.count, label="attacking", file=sys.stderr) as bar:
        outcome = run_audit(
            str(model),
            policy,
            policy_path,
            baseline=baseline,
            progress=lambda _, n: bar.update(n),
        )
    write_reports(out, outcome)
    contact_sheet(seed=0).save(out / "synthfaces.png")
    (out / MARKER).write_text("written by sia-audit demo\n", encoding="utf-8")
    for note in outcome.notes:
        click.echo(f"sia-audit: note: {note}", err=True)
    for f in outcome.flags:
        if f.raised:
            click.echo(f"FLAG    {f.name} ({f.level}): {f.message}", err=True)
    for v in outcome.verdicts:
        if v.status != "pass":
            click.echo(f"{v.status.upper():7s} {v.message}", err=True)
    sens, weighted = outcome.result.sensitivity, outcome.result.weighted
    flips = outcome.result.figures.get("counterfactual_flips")

    if flips is not None and flips.push:
        label = sens.excluded[0] if len(sens.excluded) == 1 else "the positive class"
        click.echo(
            "measurable attributes whose flip moves its answer one way on the most faces (push, "
            f"the report's lead; + toward {label} as the attribute turns on, - away): "
            + top3(flips.attributes, flips.push, flips.loss, sens.unmeasurable, flips.push_toward)
        )
    if flips is not None:
        click.echo(
            "measurable attributes whose flip moves its loss on the most faces (moved share"
            + ("" if flips.push else ", the report's lead")
            + f"): {top3(flips.attributes, flips.moved, flips.loss, sens.unmeasurable)}"
        )
        click.echo(
            "measurable attributes whose flip most often changes its answer (flip rate): "
            f"{top3(flips.attributes, flips.rate, flips.loss, sens.unmeasurable)}"
        )
    if weighted is not None:
        click.echo(
            "measurable attributes it leans on most under SIA (w = s x loss share): "
            f"{top3(sens.attributes, weighted.w, (), sens.unmeasurable)}"
        )
    s_top = top3(sens.attributes, sens.s, (), sens.unmeasurable)
    click.echo(f"most sensitive measurable attributes (the paper's s): {s_top}")
    click.echo(
        f"reports: {out / 'report.html'} (open it), report.pdf, report.json, summary.md; "
        f"probe domain: {out / 'synthfaces.png'}"
    )
    failed = [v.gate for v in outcome.verdicts if v.status == "fail"]
    # a per-attribute gate on s, h or w; and, against the control, a regression gate
    threshold = any("sensitivity" in g and g.endswith(f"[{PLANTED}]") for g in failed)
    regression = any(g.startswith("regression") and g.endswith(f"[{PLANTED}]") for g in failed)
    if threshold and (regression or baseline is None):
        by = "its sensitivity gates" + (" and, against the control, its regression gate"
                                        if baseline else "")  # fmt: skip
        click.echo(
            f"sia-audit demo: the policy caught the planted {PLANTED} shortcut with {by}, as it "
            "should (`sia-audit run` exits 1 on this model)"
        )
        sys.exit(0)
    missed = [] if threshold else ["sensitivity"]
    missed += [] if regression or baseline is None else ["regression"]
    click.echo(
        f"sia-audit demo: UNEXPECTED: no {' or '.join(missed)} gate failed on {PLANTED}; the demo "
        "model, its baseline or the policy is broken",
        err=True,
    )
    sys.exit(1)
