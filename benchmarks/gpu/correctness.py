"""GPU check, section 1: the demo audit on the device against the CPU, and the CUDA options.

Every run is `sia_audit.app.run.run` on the demo inputs (the biased Eyeglasses classifier under
`policies/fairness.yaml`, or a toy copy of that policy in a dry run), turned into the report dict
`sia-audit run` writes; `benchmarks.gpu.compare` says what must agree and how closely:

- `device` (CUDA, float32 as users run it: cuDNN's TF32 convolutions are torch's default)
  against `reference_cpu`: tolerance `float`;
- `device_repeat`: the same run again, to learn whether CUDA is run-to-run bit-equal (it sets
  what the torchrun comparison can demand);
- `bf16` (autocast) against `device`: tolerance `bf16`;
- `compile` (torch.compile) and `cuda_graphs` (compile + CUDA graphs) against `device`:
  tolerance `float`.

In a dry run the device is the CPU, so `device` and `device_repeat` must be bit-equal to the
reference (tolerance `exact`), bf16 runs on the CPU, and the compiled options are skipped.
"""

from __future__ import annotations

import dataclasses
import json
from typing import TYPE_CHECKING, Any

from benchmarks.gpu.budget import Section, Skip
from benchmarks.gpu.compare import TOLERANCES, compare_reports, report_differences, summary
from sia_audit.app.run import run
from sia_audit.formats import json_report
from sia_audit.policy import load_policy
from sia_audit.policy.models import Policy

if TYPE_CHECKING:
    from benchmarks.gpu.check import Context


def report_of(ctx: Context, policy: Policy, device: str) -> dict[str, Any]:
    """The report.json dict of one run, as `sia-audit run` would write it."""
    outcome = run(str(ctx.target), policy, ctx.policy, device=device)
    return json.loads(json_report.dumps(json_report.report_dict(outcome)))


def with_attack(policy: Policy, **changes: Any) -> Policy:
    return policy.model_copy(update={"attack": policy.attack.model_copy(update=changes)})


def describe(report: dict[str, Any]) -> dict[str, Any]:
    """What the log and the JSON show of one run: verdict, failing gates, top s, times."""
    s = report["figures"]["sensitivity"]["s"]
    top = sorted(s, key=lambda a: -s[a]["value"])[:3]
    failing = ("fail", "unmeasurable")
    return {
        "device": report["provenance"]["device"],
        "verdict": report["verdict"],
        "gates_failed": [g["gate"] for g in report["gates"] if g["status"] in failing],
        "top_s": [[a, round(s[a]["value"], 4)] for a in top],
        "sdar_s": round(report["figures"]["sensitivity"]["sdar_s"]["value"], 4),
        "attack_s": report["timings"]["attack"],
        "wall_s": report["timings"]["wall"],
        "note": f"verdict {report['verdict']}, top s "
        + ", ".join(f"{a} {s[a]['value']:.3f}" for a in top)
        + f"; attack {report['timings']['attack']:.1f} s",
    }


def run_section(section: Section, ctx: Context) -> None:
    """Each run of the section; its report dicts land in `ctx.reports` for section 3."""
    reports = ctx.reports
    policy = load_policy(ctx.policy)
    float_tol = TOLERANCES["exact" if ctx.dry_run else "float"]

    def audited(name: str, device: str, p: Policy, save: bool = False) -> dict[str, Any]:
        report = report_of(ctx, p, device)
        reports[name] = report
        if save:
            (ctx.out / f"report_{name}.json").write_text(json_report.dumps(report))
        return describe(report)

    def compared(
        name: str, p: Policy, against: str, tolerance: str, save: bool = False
    ) -> dict[str, Any]:
        if against not in reports:
            raise Skip(f"needs the {against} run, which did not finish")
        result = audited(name, ctx.device, p, save)
        checks = compare_reports(reports[against], reports[name], TOLERANCES[tolerance])
        found = summary(checks)
        result.update(
            against=against,
            tolerance=dataclasses.asdict(TOLERANCES[tolerance]),
            bit_equal=not report_differences(reports[against], reports[name]),
            comparison=found,
            status="ok" if found["failed"] == 0 else "failed",
            note=f"{found['checks']} checks against {against} ({tolerance}), "
            f"{found['failed']} failed",
        )
        return result

    def cuda_only(name: str, p: Policy) -> dict[str, Any]:
        if ctx.device != "cuda":
            raise Skip(f"{name} needs CUDA: recorded as skipped in a dry run")
        import torch._dynamo

        torch._dynamo.reset()  # nothing compiled for an earlier item is reused
        result = compared(name, p, "device", "float")
        # The whole first run pays for compilation: its cost against the eager run.
        result["wall_s_over_eager"] = round(
            result["wall_s"] - reports["device"]["timings"]["wall"], 2
        )
        return result

    cpu_need, device_need = (2, 2) if ctx.dry_run else (40, 15)
    section.item(
        "reference_cpu", lambda: audited("reference_cpu", "cpu", policy, True), need=cpu_need
    )
    section.item(
        "device",
        lambda: compared("device", policy, "reference_cpu", float_tol.name, True),
        need=device_need,
    )
    section.item(
        "device_repeat",
        lambda: compared("device_repeat", policy, "device", float_tol.name),
        need=device_need,
    )
    section.item(
        "bf16", lambda: compared("bf16", with_attack(policy, autocast_bf16=True), "device", "bf16")
    )
    section.item(
        "compile", lambda: cuda_only("compile", with_attack(policy, torch_compile=True)), need=60
    )
    section.item(
        "cuda_graphs",
        lambda: cuda_only("cuda_graphs", with_attack(policy, torch_compile=True, cuda_graphs=True)),
        need=40,
    )
