"""summary.md: the short verdict for a GitHub job summary or a pull-request comment."""

from __future__ import annotations

from sia_audit.run import RunOutcome

ICONS = {"pass": "PASS", "fail": "FAIL", "skipped": "skipped"}


def render(outcome: RunOutcome) -> str:
    r = outcome.result
    verdict = "PASSED" if outcome.passed else "FAILED"
    failed = sum(v.status == "fail" for v in outcome.verdicts)
    lines = [
        f"## sia-audit: {verdict}",
        "",
        f"Target `{outcome.inputs['target']}`: {len(outcome.verdicts)} gates, {failed} failed. "
        f"Attack `{r.main_attack}` on {r.provenance['probes']} probes.",
        "",
        "| gate | status | detail |",
        "|---|---|---|",
    ]
    for v in outcome.verdicts:
        lines.append(f"| {v.gate} | {ICONS[v.status]} | {v.message.replace('|', '/')} |")
    s = r.sensitivity
    top = sorted(zip(s.attributes, s.s, strict=True), key=lambda t: -t[1].value)[:3]
    lines += [
        "",
        "Most sensitive attributes: "
        + ", ".join(f"{a} {e.value:.3f} [{e.low:.3f}, {e.high:.3f}]" for a, e in top)
        + f"; SDAR {s.sdar_s.value:.4f} [{s.sdar_s.low:.4f}, {s.sdar_s.high:.4f}].",
        "",
    ]
    return "\n".join(lines)
