"""View models: order, rounding, optional columns, chart geometry, and old or damaged reports."""

from __future__ import annotations

from typing import Any

import pytest

from sia_audit.errors import DataError
from sia_audit.formats import views
from sia_audit.formats.charts import BarValue, nice_step, sensitivity_chart
from sia_audit.formats.figures import ATTACK_COLUMNS
from sia_audit.formats.gallery import GALLERY_CHANGES
from sia_audit.report_schema import AttackRecord
from tests.formats.conftest import with_editability


def test_sensitivity_rows_run_largest_first_with_protected_marked(data: dict[str, Any]) -> None:
    view = views.build(data)
    values = [float(r.s.value) for r in view.sensitivity.rows]
    assert values == sorted(values, reverse=True)
    assert {r.attribute for r in view.sensitivity.rows if r.protected} == {"Mustache", "Male"}
    assert "Eyeglasses" in view.sensitivity.excluded
    assert [r.attribute for r in view.top_sensitive] == [
        r.attribute for r in view.sensitivity.rows[:3]
    ]


def test_an_unmeasurable_attribute_is_not_ranked_among_the_most_sensitive(
    data: dict[str, Any],
) -> None:
    view = views.build(with_editability(data, "Smiling"))
    ranked = [r.attribute for r in view.sensitivity.rows]
    assert "Smiling" in ranked[:3]  # its s is among the largest ...
    top = [r.attribute for r in view.top_sensitive]
    # ... but what the generator cannot draw is listed apart, not reported as a finding.
    assert top == [a for a in ranked if a != "Smiling"][:3]


def test_gates_split_into_thresholds_and_regressions(data: dict[str, Any]) -> None:
    view = views.build(data)
    assert [g.name for g in view.failed] == ["sensitivity s[Mustache]", "sensitivity s[Male]"]
    assert all(g.name.startswith("regression") for g in view.regression)
    assert len(view.gates) + len(view.regression) == len(data["gates"])
    mustache = view.failed[0]
    assert mustache.threshold == "≤ 0.01"
    assert mustache.why == "it is above the max 0.01"  # its value decides, not its interval
    assert mustache.message.endswith(": " + mustache.why)


def test_main_attack_first_and_fgsm_is_one_step(data: dict[str, Any]) -> None:
    table = views.build(data).attacks
    assert [r.name for r in table.rows] == ["full", "fgsm", "pgd"]
    assert [r.steps for r in table.rows] == ["3", "1", "3"]
    assert "mean NME" not in table.columns  # a binary task has no keypoint columns


def test_keypoint_columns_appear_when_present(data: dict[str, Any]) -> None:
    estimate = {"value": 0.05, "low": 0.04, "high": 0.06, "n": 6, "level": 0.95, "definition": "d"}
    data["figures"]["attacks"]["full"]["mean_nme"] = estimate
    table = views.build(data).attacks
    assert "mean NME" in table.columns
    cell = table.rows[0].cells[table.columns.index("mean NME")]
    assert cell is not None and (cell.value, cell.interval) == ("0.0500", "[0.0400, 0.0600]")


def test_gallery_puts_flipped_predictions_first(data: dict[str, Any]) -> None:
    data["gallery"][1]["flipped"] = True
    cards = views.build(data).gallery
    assert [c.flipped for c in cards] == [True, False]
    changes = [abs(float(c.change)) for c in cards[0].changes]
    assert changes == sorted(changes, reverse=True) and len(changes) <= GALLERY_CHANGES


def test_an_older_report_without_gallery_or_date_still_renders(data: dict[str, Any]) -> None:
    del data["gallery"], data["protected"], data["timings"]["finished_utc"]
    view = views.build(data)
    assert view.gallery == () and view.date == "date not recorded" and view.date_iso is None


def test_an_empty_subpopulation_group_shows_its_reason(data: dict[str, Any]) -> None:
    group = data["figures"]["subpopulations"]["Male"]["in_group"]
    group.update(n=0, sensitivity=None, reason="no probe falls in this group")
    (sub,) = views.build(data).subpopulations
    assert sub.groups[0].reason == "no probe falls in this group"
    assert all(row.cells[0] is None and row.cells[1] is not None for row in sub.rows)


def test_a_damaged_report_is_a_data_error(data: dict[str, Any]) -> None:
    del data["figures"]["sensitivity"]
    with pytest.raises(DataError, match="damaged.*sensitivity"):
        views.build(data)


def test_a_value_of_the_wrong_type_is_one_data_error_naming_its_path(
    data: dict[str, Any],
) -> None:
    data["figures"]["attacks"]["pgd"]["ssim_x0"]["high"] = "0.9"
    with pytest.raises(
        DataError, match=r"\(figures\.attacks\.pgd\.ssim_x0\.high: expected a number"
    ):
        views.build(data)


def test_every_attack_column_is_a_figure_of_the_attack_record() -> None:
    estimates = {f for f, t in AttackRecord.__annotations__.items() if "EstimateRecord" in t}
    assert [key for _, key, _ in ATTACK_COLUMNS] == [
        f for f in AttackRecord.__annotations__ if f in estimates
    ]


@pytest.mark.parametrize(("span", "step"), [(0.14, 0.05), (0.3, 0.1), (1.0, 0.5), (0.013, 0.005)])
def test_nice_step(span: float, step: float) -> None:
    assert nice_step(span) == pytest.approx(step)


def test_chart_bars_and_whiskers_stay_in_their_panel() -> None:
    values = [BarValue(0.2, 0.1, 0.3), BarValue(0.0, 0.0, 0.0)]
    chart = sensitivity_chart(["a", "b"], [("s", values, 0.25), ("h", values, None)], [True, False])
    s, h = chart.panels
    assert s.x + s.width < h.x and chart.width >= h.x + h.width
    for panel in chart.panels:
        for bar in panel.bars:
            assert panel.x <= bar.low_x <= bar.high_x <= panel.x + panel.width
    assert s.threshold_x is not None and s.bars[0].high_x > s.threshold_x > s.bars[0].low_x
    assert h.threshold_x is None and [b.protected for b in s.bars] == [True, False]
    assert s.bars[1].width == 0
