"""Validity flags and path shares in the reports: raised flags lead, the shares get a column."""

from __future__ import annotations

import copy
from typing import Any

import torch

from sia_audit.formats import html, markdown, views
from sia_audit.gates.flags import FLAGS, ValidityFlag
from sia_audit.metrics import BootstrapConfig
from sia_audit.metrics.path import path_attribution
from sia_audit.metrics.weighted import weighted_sensitivity
from sia_audit.report_schema import ReportRecord
from tests.formats.conftest import as_report


def with_flags_and_paths(data: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(data)
    sens = out["figures"]["sensitivity"]
    names = sens["attributes"]
    g = torch.Generator().manual_seed(0)
    block = path_attribution(
        torch.rand(6, len(names), generator=g),
        torch.rand(6, generator=g),
        names=names,
        config=BootstrapConfig(resamples=50),
    )
    out["figures"]["path_attribution"] = block.as_dict()
    out["figures"]["weighted_sensitivity"] = weighted_sensitivity(
        torch.rand(6, len(names), generator=g),
        torch.rand(6, len(names), generator=g),
        torch.ones(6),
        names=names,
        config=BootstrapConfig(resamples=50),
    ).as_dict()
    raised = {"vanishing_gradients": "fail", "pgd_weaker_than_fgsm": "warn"}
    out["flags"] = [
        ValidityFlag(n, n in raised, raised.get(n, "warn"), f"{n} measured").as_dict()
        for n in FLAGS
    ]
    return out


def keys(view: views.ReportView) -> list[str]:
    return [c.key for c in view.sensitivity.columns]


def test_the_schema_reads_both_blocks(data: dict[str, Any]) -> None:
    report = ReportRecord(with_flags_and_paths(data))
    assert report.block("path_attribution") is not None and len(report.flags) == len(FLAGS)
    assert report.flags[1].raised and report.flags[1].level == "fail"
    old = ReportRecord(data)  # a report from before either existed
    assert old.block("path_attribution") is None and old.flags == ()


def test_raised_flags_lead_failing_first(data: dict[str, Any]) -> None:
    view = views.build(with_flags_and_paths(data))
    assert [f.name for f in view.flags] == ["vanishing_gradients", "pgd_weaker_than_fgsm"]
    assert view.flags_checked == len(FLAGS)
    page = html.render(as_report(with_flags_and_paths(data))).decode()
    verdict = page.split('<section id="verdict">')[1].split("</section>")[0]
    assert f"Validity flags: 2 of {len(FLAGS)} checks raised" in verdict
    assert "<code>vanishing_gradients</code>: vanishing_gradients measured" in verdict
    text = markdown.render(as_report(with_flags_and_paths(data))).decode()
    assert f"**Validity flags** (2 of {len(FLAGS)} checks raised" in text
    assert text.index("Validity flags") < text.index("Failed gates")


def test_path_shares_get_a_column_and_a_definition(data: dict[str, Any]) -> None:
    view = views.build(with_flags_and_paths(data))
    assert "path_share" in keys(view) and all(
        r.figures["path_share"] for r in view.sensitivity.rows
    )
    assert any(symbol == "path share" for symbol, _ in view.sensitivity.definitions)
    text = dict(view.sensitivity.definitions)["path share"]
    # the image's own share follows the definition after one full stop
    assert "). The image's own share: " in text and ".." not in text
    page = html.render(as_report(with_flags_and_paths(data))).decode()
    assert ">path share<br>" in page
    assert "path_share" not in keys(views.build(data))  # old reports: no column


def test_weighted_sensitivity_leads_with_s_beside_it(data: dict[str, Any]) -> None:
    d = with_flags_and_paths(data)
    view = views.build(d)
    assert view.sensitivity.lead.key == "w" and all(r.figures["w"] for r in view.sensitivity.rows)
    assert any(symbol == "w" for symbol, _ in view.sensitivity.definitions)
    w = d["figures"]["weighted_sensitivity"]["w"]
    order = [r.attribute for r in view.sensitivity.rows]
    assert order == sorted(w, key=lambda a: -w[a]["value"])  # rows in w's order, not s's
    assert [p.title for p in view.sensitivity.chart.panels] == [
        "w = s × loss share",
        "raw s (mean |a_T - a_0|)",
    ]
    page = html.render(as_report(d)).decode()
    head = page.split('<table class="sensitivity">')[1].split("</thead>")[0]
    assert head.index(">w<br>") < head.index(">s<br>") < head.index(">h<br>")
    assert ReportRecord(data).block("weighted_sensitivity") is None  # reports from before it
    assert views.build(data).sensitivity.lead.key == "s"


def test_no_raised_flag_is_said_too(data: dict[str, Any]) -> None:
    d = with_flags_and_paths(data)
    for f in d["flags"]:
        f["raised"] = False
    page = html.render(as_report(d)).decode()
    assert f"none of the {len(FLAGS)} checks that ran raised." in page


def test_a_flag_that_could_not_be_checked_is_not_counted_as_passed(data: dict[str, Any]) -> None:
    """Without the pixel baselines PGD-below-FGSM has nothing to compare: not a clean bill."""
    d = with_flags_and_paths(data)
    for f in d["flags"]:
        f["raised"] = False
        if f["name"] == "pgd_weaker_than_fgsm":
            f["message"] = "not checked: the policy runs PGD and FGSM not both"
    view = views.build(d)
    assert view.flags_checked == len(FLAGS) - 1
    assert view.flags_not_checked == ("pgd_weaker_than_fgsm",)
    page = html.render(as_report(d)).decode()
    assert (
        f"none of the {len(FLAGS) - 1} checks that ran raised; not checked on this run, for "
        "want of what they read: <code>pgd_weaker_than_fgsm</code>." in page
    )


def test_the_summary_ranks_w_and_s_each_by_its_own_figure(data: dict[str, Any]) -> None:
    """The rows run in w's order; "most sensitive (s)" must still be the largest s, not w's top."""
    d = with_flags_and_paths(data)
    w, s = d["figures"]["weighted_sensitivity"]["w"], d["figures"]["sensitivity"]["s"]
    by_w = sorted(w, key=lambda a: -w[a]["value"])[:3]
    by_s = sorted(s, key=lambda a: -s[a]["value"])[:3]
    assert by_w != by_s  # the random w of the fixture orders differently from its s
    view = views.build(d)
    assert [r.attribute for r in view.top_lead] == by_w
    assert [r.attribute for r in view.top_sensitive] == by_s
    text = markdown.render(as_report(d)).decode()
    leans = text.split("95% interval): ")[1].split("\n")[0]
    assert "leans on most (w: s times its share of the attack's loss increase;" in text
    sensitive = text.split("(the paper's s, 95% interval): ")[1].split("\n")[0]
    assert [leans.index(f"`{a}`") for a in by_w] == sorted(leans.index(f"`{a}`") for a in by_w)
    assert [sensitive.index(f"`{a}`") for a in by_s] == sorted(
        sensitive.index(f"`{a}`") for a in by_s
    )
    assert views.build(data).top_lead == ()  # reports from before w: the s list alone


def test_counterfactual_flips_get_their_columns_from_the_one_table(data: dict[str, Any]) -> None:
    """A per-attribute figure the report holds is a column: the moved share, flip rate and flip
    loss here."""
    from sia_audit.metrics.counterfactual import counterfactual_flips

    d = with_flags_and_paths(data)
    names = d["figures"]["sensitivity"]["attributes"]
    g = torch.Generator().manual_seed(1)
    flips = counterfactual_flips(
        torch.rand(6, len(names), generator=g),
        torch.rand(6, len(names), generator=g) > 0.7,
        names=names,
        config=BootstrapConfig(resamples=50),
    )
    d["figures"]["counterfactual_flips"] = flips.as_dict()
    view = views.build(d)
    assert {"moved", "flip_rate", "flip_loss"} <= set(keys(view))
    assert all(r.figures["flip_rate"] is not None for r in view.sensitivity.rows)
    assert any(symbol == "flip rate" for symbol, _ in view.sensitivity.definitions)
    assert any(symbol == "moved" for symbol, _ in view.sensitivity.definitions)
    page = html.render(as_report(d)).decode()
    head = page.split('<table class="sensitivity">')[1].split("</thead>")[0]
    # The moved share leads (the first column, the rows in its order), the rest in table order.
    order = [">moved<br>", ">w<br>", ">flip rate<br>", ">flip loss<br>"]
    assert [head.index(h) for h in order] == sorted(head.index(h) for h in order)
    assert view.sensitivity.lead.key == "moved"
    moved = [flips.moved[flips.attributes.index(r.attribute)].value for r in view.sensitivity.rows]
    assert moved == sorted(moved, reverse=True)
    # a report written before the moved share leads with the flip rate
    del d["figures"]["counterfactual_flips"]["moved"]
    earlier = views.build(d).sensitivity
    assert earlier.lead.key == "flip_rate" and "moved" not in keys(views.build(d))
    rates = [flips.of(r.attribute).value for r in earlier.rows]
    assert rates == sorted(rates, reverse=True)


def test_a_binary_target_s_push_leads_and_says_which_way_each_attribute_moves_it(
    data: dict[str, Any],
) -> None:
    from sia_audit.metrics.counterfactual import counterfactual_flips, toward_positive

    d = with_flags_and_paths(data)
    names = d["figures"]["sensitivity"]["attributes"]
    g = torch.Generator().manual_seed(2)
    loss = torch.rand(8, len(names), generator=g) - 0.5
    a0 = (torch.rand(8, len(names), generator=g) > 0.5).float()
    positive = torch.tensor([0.0, 1.0] * 4)
    flips = counterfactual_flips(
        loss,
        torch.rand(8, len(names), generator=g) > 0.7,
        names=names,
        config=BootstrapConfig(resamples=50),
        toward=toward_positive(loss, a0, positive),
    )
    assert set(flips.push_toward.values()) == {-1, 1}  # the fixture has both directions
    d["figures"]["counterfactual_flips"] = flips.as_dict()
    view = views.build(d)
    assert view.sensitivity.lead.key == "push" and keys(view)[:2] == ["push", "moved"]
    push = [flips.push[flips.attributes.index(r.attribute)].value for r in view.sensitivity.rows]
    assert push == sorted(push, reverse=True)
    label = d["figures"]["sensitivity"]["excluded"]
    assert len(label) == 1  # a binary target's one frozen attribute: its label
    for r in view.sensitivity.rows:
        way = "toward" if flips.push_toward[r.attribute] > 0 else "away from"
        assert r.toward == f"{way} {label[0]}"
    page = html.render(as_report(d)).decode()
    top = view.sensitivity.rows[0]
    assert f'<br><span class="interval">on: {top.toward}</span>' in page
    text = markdown.render(as_report(d)).decode()
    leans = text.split("leans on most (push:")[1].split("\n")[0]
    assert f"`{top.attribute}`" in leans and f"(turned on: {top.toward})" in leans
    # a target that is not binary has no push: the moved share leads, with no direction
    del (
        d["figures"]["counterfactual_flips"]["push"],
        d["figures"]["counterfactual_flips"]["push_toward"],
    )
    other = views.build(d)
    assert other.sensitivity.lead.key == "moved"
    assert all(r.toward == "" for r in other.sensitivity.rows)


def test_flips_that_redraw_the_label_are_listed_last_with_their_move(data: dict[str, Any]) -> None:
    from sia_audit.metrics.counterfactual import counterfactual_flips

    d = copy.deepcopy(data)
    names = d["figures"]["sensitivity"]["attributes"]
    leaky = names[0]
    g = torch.Generator().manual_seed(1)
    flips = counterfactual_flips(
        torch.rand(6, len(names), generator=g),
        torch.rand(6, len(names), generator=g) > 0.5,
        [a != leaky for a in names],
        names=names,
        config=BootstrapConfig(resamples=50),
        label_leak={leaky: 0.1404},
    )
    d["figures"]["counterfactual_flips"] = flips.as_dict()
    view = views.build(d)
    assert view.sensitivity.lead.key == "moved"
    assert [r.attribute for r in view.sensitivity.rows][-1] == leaky
    assert view.sensitivity.label_leak == ((leaky, "0.140"),)
    page = html.render(as_report(d)).decode()
    assert f"and so listed last: <code>{leaky}</code> (0.140)." in page
    summary = markdown.render(as_report(d)).decode()
    assert "since their flip redraws the label" in summary and f"`{leaky}` 0.140." in summary
    assert views.build(data).sensitivity.label_leak == ()  # a report from before the rule
