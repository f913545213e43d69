"""The held-out suite's scorer: ranks, probe subsets and the gate it asks about, on tiny tables."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from benchmarks.validity.heldout_scoring import (
    DECLARED,
    RANKERS,
    Audit,
    ScoredTable,
    choice_lines,
    chunks,
    decide,
    fails,
    fresh,
    goals,
    pairs_of,
    rank,
    subset,
)
from sia_audit import defaults
from sia_audit.gates.calibrate import MARGINS
from sia_audit.metrics.weighted import WeightedInputs
from sia_audit.policy.gates import RegressionSection

NAMES = ("Bald", "Bangs", "Eyeglasses", "Mustache", "Smiling")


def table(shortcut: str | None, n: int = 64, seed: int = 0) -> ScoredTable:
    g = torch.Generator().manual_seed(seed)
    changed = torch.rand(n, len(NAMES), generator=g) < 0.02
    if shortcut is not None:
        changed[::3, NAMES.index(shortcut)] = True
    delta = torch.rand(n, len(NAMES), generator=g, dtype=torch.float64) * 0.2
    return ScoredTable(
        names=tuple(f"p{i}" for i in range(n)),
        attributes=NAMES,
        frozen=("Eyeglasses",),
        delta=delta,
        correct_clean=torch.ones(n, dtype=torch.bool),
        correct_adv=torch.zeros(n, dtype=torch.bool),
        provenance={},
        weighted=WeightedInputs(delta, delta * 0.1, torch.ones(n, dtype=torch.float64)),
        flip_loss=changed.double(),
        flip_changed=changed,
        toward=changed.double(),  # every flip that moves the answer moves it toward +
    )


def audit(name: str, kind: str, seed: int, shortcut: str | None, band: str) -> Audit:
    return Audit(name, "cnn", "Eyeglasses", kind, seed, shortcut, band, 0.95, 0.82,
                 table(shortcut, seed=seed))  # fmt: skip


def test_the_planted_attribute_ranks_first_on_the_flip_rate_and_the_label_never_ranks() -> None:
    plant = audit("plant", "plant", 1, "Mustache", "weak")
    assert rank(plant, "flip_rate", "Mustache") == 1
    assert "Eyeglasses" not in plant.ranked


def test_subsets_are_disjoint_and_keep_the_pairing() -> None:
    assert chunks(256, 64) == [list(range(i, i + 64)) for i in (0, 64, 128, 192)]
    t = table("Mustache")
    half = subset(t, list(range(32, 64)))
    assert half.names == t.names[32:] and torch.equal(half.flip_changed, t.flip_changed[32:])
    assert half.weighted is not None and half.weighted.rise.shape == (32,)


def test_pairs_and_the_gate_they_ask_about() -> None:
    control = audit("c1", "control", 1, None, "control")
    control2 = audit("c2", "control", 2, None, "control")
    plant = audit("p", "plant", 1, "Mustache", "weak")
    plants, nulls = pairs_of([control, control2, plant])
    assert plants == [(control, plant)] and nulls == [(control, control2)]
    section = RegressionSection(flip_rate_increase=0.05)
    assert fails(section, control.table, plant.table)  # a third of the answers hang on it
    assert not fails(section, control.table, control2.table)


def test_the_declared_rule_takes_the_shipped_section_when_it_suffices() -> None:
    control = audit("c1", "control", 1, None, "control")
    control2 = audit("c2", "control", 2, None, "control")
    plant = audit("p", "plant", 1, "Mustache", "weak")
    plants, nulls = pairs_of([control, control2, plant])
    choice = decide(plants, nulls, RegressionSection(flip_rate_increase=0.05))
    assert (choice.count, choice.section) == (64, "shipped")
    assert len(choice.tried) == 1


def test_the_declared_rule_adds_the_flip_gate_only_when_the_shipped_section_misses() -> None:
    control = audit("c1", "control", 1, None, "control")
    control2 = audit("c2", "control", 2, None, "control")
    plant = audit("p", "plant", 1, "Mustache", "weak")
    plants, nulls = pairs_of([control, control2, plant])
    blind = RegressionSection(weighted_increase=10.0)  # fails nothing
    choice = decide(plants, nulls, blind)
    assert (choice.count, choice.section) == (64, "shipped + flip_rate +0.05")
    assert [t[1] for t in choice.tried] == ["shipped", "shipped + flip_rate +0.05"]


def test_the_declared_rule_refuses_an_option_that_fails_truthful_pairs() -> None:
    control = audit("c1", "control", 1, None, "control")
    plant = audit("p", "plant", 1, "Mustache", "weak")
    # a "truthful" sibling that moved like the plant: every option fails the null pair too
    sibling = Audit("c2", "cnn", "Eyeglasses", "control", 2, None, "control", 0.95, None,
                    table("Mustache", seed=2))  # fmt: skip
    plants, nulls = pairs_of([control, sibling, plant])
    choice = decide(plants, nulls, RegressionSection(flip_rate_increase=0.05))
    assert choice.count is None and choice.section is None
    assert choice.tried[0][4] == (1, 1)  # the null comparison failed
    assert "chosen: nothing meets the rule" in choice_lines(choice)


def test_fresh_keeps_unseen_models_and_the_controls_they_are_compared_with() -> None:
    def model(name: str, kind: str, seed: int, shortcut: str | None = None) -> Audit:
        band = "weak" if shortcut else "control"
        return Audit(name, "sres", "Smiling", kind, seed, shortcut, band, 0.95, None,
                     table(shortcut))  # fmt: skip

    base = model("sres_Smiling_control_s1", "control", 1)  # seen, but the base of new pairs
    seen = model("sres_Smiling_control_s2", "control", 2)
    seen_plant = model("sres_Smiling_Eyeglasses_r1_p0.8.weak", "plant", 1, "Eyeglasses")
    new = model("sres_Smiling_Bangs_r1_p0.9.weak", "plant", 1, "Bangs")
    kept = fresh([base, seen, seen_plant, new])
    assert kept == [base, new]
    plants, nulls = pairs_of(kept)
    assert plants == [(base, new)] and nulls == []


def test_the_declared_goals_read_the_gate_and_the_null_pairs() -> None:
    control = audit("c1", "control", 1, None, "control")
    control2 = audit("c2", "control", 2, None, "control")
    plant = audit("p", "plant", 1, "Mustache", "weak")
    margins = {"weighted_sensitivity": 0.03, "sensitivity": 0.05, "flip_rate": 0.05}
    found = goals([control, control2, plant], RegressionSection(flip_rate_increase=0.05), margins)
    assert [g.measured for g in found[1:3]] == ["1/1 (weak 1/1)", "0/1"]
    assert found[1].met and found[2].met
    assert found[3].measured.startswith("w ") and "/2" in found[3].measured
    blind = goals([control, control2, plant], RegressionSection(sdar_increase=0.5), margins)
    assert blind[1].measured == "0/1 (weak 0/1)" and not blind[1].met
    alone = goals([control, plant], RegressionSection(flip_rate_increase=0.05), margins)
    assert not alone[2].met and not alone[3].met  # no null pair: nothing is shown to pass
    led = goals([control, control2, plant], RegressionSection(flip_rate_increase=0.05), margins,
                "lead")  # fmt: skip
    assert led[0].goal.startswith("lead ") and led[0].measured == "1/1, 1/1" and led[0].met


def test_the_lead_before_the_moved_share_broke_a_flip_rate_tie_by_the_flip_loss() -> None:
    plant = audit("plant", "plant", 1, "Mustache", "weak")
    t = plant.table
    rival = NAMES.index("Bangs")
    t.flip_changed[:, rival] = t.flip_changed[:, NAMES.index("Mustache")]  # the same rate
    t.flip_loss[:, rival] = t.flip_loss[:, NAMES.index("Mustache")] * 2  # a larger loss
    assert rank(plant, "flip_rate", "Mustache") == 2 and rank(plant, "lead_rate", "Bangs") == 1
    assert rank(plant, "lead_rate", "Mustache") == 2
    t.flip_loss[:, rival] /= 4
    assert rank(plant, "lead_rate", "Mustache") == 1


def test_the_lead_counts_faces_moved_so_one_huge_change_does_not_win() -> None:
    plant = audit("plant", "plant", 1, "Mustache", "weak")
    t = plant.table
    rival = NAMES.index("Bangs")
    t.flip_loss[:, rival] = 0.0
    t.flip_loss[0, rival] = 1e3  # one face, moved enormously: the largest mean loss change
    assert rank(plant, "flip_loss", "Bangs") == 1
    assert rank(plant, "lead", "Mustache") == 1 and rank(plant, "moved", "Mustache") == 1
    # the rival that moves every face past the bound wins, whatever its mean
    t.flip_loss[:, rival] = defaults.MOVE
    assert rank(plant, "lead", "Bangs") == 1


def pushed(plant: Audit, toward: torch.Tensor) -> Audit:
    """The plant with its flips' signed moves (`toward_positive`) set."""
    return dataclasses.replace(plant, table=dataclasses.replace(plant.table, toward=toward))


def test_the_push_counts_moves_one_way_so_a_rival_that_moves_both_ways_does_not_lead() -> None:
    plant = audit("plant", "plant", 1, "Mustache", "weak")
    n = len(plant.table.names)
    toward = torch.zeros(n, len(NAMES), dtype=torch.float64)
    shortcut, rival = NAMES.index("Mustache"), NAMES.index("Bangs")
    toward[::2, shortcut] = 0.1  # half the faces pushed one way, past the bound
    toward[:, rival] = torch.tensor([1.0, -1.0]).repeat(n // 2)  # every face, both ways
    plant = pushed(plant, toward)
    assert rank(plant, "push", "Mustache") == 1 and rank(plant, "lead_push", "Mustache") == 1
    assert RANKERS["push"](plant.table, torch.arange(n))[shortcut] == pytest.approx(0.5)
    # the moved share counts the rival's faces, whichever way they moved
    plant.table.flip_loss[:, rival] = toward[:, rival].abs()
    plant.table.flip_loss[:, shortcut] = toward[:, shortcut].abs()
    assert rank(plant, "moved", "Bangs") == 1
    # a push away from the positive class counts as much as one toward it
    plant.table.toward[:, shortcut] *= -1
    assert rank(plant, "push", "Mustache") == 1
    # and its probes go with them into a subset
    assert torch.equal(subset(plant.table, [0, 2]).toward, toward[[0, 2]])


def test_each_declared_round_names_a_headline_and_a_section_the_tool_accepts() -> None:
    for declared in DECLARED.values():
        assert declared.headline in RANKERS
        assert declared.regression().use_confidence


def test_a_flip_that_redraws_the_label_leaves_the_flip_figures_not_the_others() -> None:
    import dataclasses

    plant = audit("plant", "plant", 1, "Mustache", "weak")
    t = plant.table
    changed = t.flip_changed.clone()
    changed[:, NAMES.index("Bald")] = True  # every answer follows a flip of Bald
    plant = dataclasses.replace(plant, table=dataclasses.replace(t, flip_changed=changed))
    assert rank(plant, "flip_rate", "Mustache", leak=False) == 2
    leaky = dataclasses.replace(plant, table=dataclasses.replace(plant.table, leaky=("Bald",)))
    assert rank(leaky, "flip_rate", "Mustache") == 1
    assert rank(leaky, "lead", "Mustache") == 1
    assert rank(leaky, "flip_rate", "Mustache", leak=False) == 2  # as the audit was before
    assert "Bald" in leaky.ranked_by("w") and "Bald" not in leaky.ranked_by("flip_rate")
    # a shortcut the flip figures leave out ranks below every attribute they keep
    gone = dataclasses.replace(plant, table=dataclasses.replace(plant.table, leaky=("Mustache",)))
    assert rank(gone, "flip_rate", "Mustache") == len(gone.ranked_by("flip_rate")) + 1


def test_the_fifth_round_declared_the_label_leak_rule() -> None:
    assert DECLARED["test5"].leak and not DECLARED["test4"].leak


def test_the_regression_compares_a_leaky_flip_unless_scored_as_rounds_6_to_10() -> None:
    import dataclasses

    control = audit("c1", "control", 1, None, "control")
    control2 = audit("c2", "control", 2, None, "control")
    t = control2.table
    changed, loss = t.flip_changed.clone(), t.flip_loss.clone()
    changed[::2, NAMES.index("Bald")] = True  # the other seed follows Bald's flip more
    loss[::2, NAMES.index("Bald")] += 0.5
    control2 = dataclasses.replace(control2, table=dataclasses.replace(
        t, flip_changed=changed, flip_loss=loss))  # fmt: skip
    section = RegressionSection(flip_loss_increase=0.05)
    assert fails(section, control.table, control2.table)  # Bald named by neither report
    leaky = [dataclasses.replace(a, table=dataclasses.replace(a.table, leaky=("Bald",)))
             for a in (control, control2)]  # fmt: skip
    assert fails(section, leaky[0].table, leaky[1].table)  # as shipped: compared
    assert not fails(section, leaky[0].table, leaky[1].table, leak=True)  # rounds 6 to 10
    margins = {"weighted_sensitivity": 0.03, "sensitivity": 0.05, "flip_rate": 0.05}
    now = goals(leaky, section, margins, "lead")
    then = goals(leaky, section, margins, "lead", compare_leak=True)
    assert (now[2].measured, then[2].measured) == ("1/1", "0/1")


def test_the_sixth_round_declared_the_regression_leaves_leaky_flips_out() -> None:
    assert DECLARED["test6"].leak and DECLARED["test6"].compare_leak
    assert not any(DECLARED[h].compare_leak for h in ("test3", "test4", "test5"))


def test_the_seventh_round_declared_the_flip_loss_alone_and_wider_calibrate_margins() -> None:
    declared = DECLARED["test7"]
    assert declared.section == {"flip_loss_increase": 0.05}
    assert declared.leak and declared.compare_leak
    assert declared.calibrate_margins() == MARGINS  # what calibrate ships now
    first = DECLARED["test6"].calibrate_margins()
    assert (first["weighted_sensitivity"], first["sensitivity"]) == (0.03, 0.04)
    assert {k: v for k, v in first.items() if k not in ("weighted_sensitivity", "sensitivity")} == {
        k: v for k, v in MARGINS.items() if k not in ("weighted_sensitivity", "sensitivity")
    }


@pytest.mark.parametrize(
    "half",
    ["test8", "test9", "test10", "test11", "test12", "test13", "test14", "test15", "test16"],
)
def test_the_eighth_and_ninth_rounds_declared_what_fairness_yaml_ships(half: str) -> None:
    from benchmarks.validity.heldout_scoring import SHIPPED
    from sia_audit.policy import load_policy

    declared = DECLARED[half]
    shipped = load_policy(SHIPPED).gates.regression
    # the cap on each probe's flip loss was chosen after round 11 and declared for round 12
    capped = half in ("test12", "test13", "test14", "test15", "test16")
    then = shipped if capped else shipped.model_copy(update={"flip_loss_cap": None})
    assert declared.regression() == then
    assert (declared.section.get("flip_loss_cap") == 1.0) is capped
    # the moved share became the lead after round 12, the push after round 14; the rounds
    # before declared the flip rate
    leads = {"test13": "lead", "test14": "lead", "test15": "lead_push", "test16": "lead_push"}
    lead = leads.get(half, "lead_rate")
    assert declared.headline == lead
    assert declared.section["flip_loss_relative_increase"] == 3.0
    assert declared.calibrate_margins() == MARGINS
    # the relative allowance spares a seed that moves an attribute's loss 3-fold, not 5-fold
    control = audit("c1", "control", 1, None, "control")
    t = control.table
    for factor, failed in ((3.0, False), (5.0, True)):
        loss = t.flip_loss.clone()
        loss[:, NAMES.index("Bangs")] = 0.1 * factor
        base = dataclasses.replace(t, flip_loss=torch.where(
            torch.arange(len(NAMES)) == NAMES.index("Bangs"), 0.1, t.flip_loss))  # fmt: skip
        head = dataclasses.replace(t, flip_loss=loss)
        assert fails(declared.regression(), base, head) is failed


def test_the_leaky_flips_come_from_the_file_under_the_shipped_rule_and_reports_are_checked() -> (
    None
):
    from benchmarks.validity.heldout_scoring import leaky_of

    stamp = {"generator_sha256": "g", "probe_manifest_sha256": "p"}
    leaks = {
        **stamp,
        "leaks_to": {"Bald": {"Blond_Hair": 0.129}, "Young": {"Blond_Hair": 0.03}},
        "mean_leaks_to": {"Bald": {"Blond_Hair": 0.053}, "Young": {"Blond_Hair": 0.02}},
    }

    def report(block: dict | None) -> dict:
        flips = None if block is None else {"label_leak": block}
        return {"provenance": stamp, "figures": {"counterfactual_flips": flips}}

    assert leaky_of(report(None), "Blond_Hair", leaks, "r") == ("Bald",)
    assert leaky_of(report({"Bald": 0.129}), "Blond_Hair", leaks, "r") == ("Bald",)
    # written under the earlier rule (over every probe, above 0.06): Bald was kept then
    assert leaky_of(report({}), "Blond_Hair", leaks, "r") == ("Bald",)
    with pytest.raises(SystemExit, match="leaves out"):
        leaky_of(report({"Young": 0.03}), "Blond_Hair", leaks, "r")
    with pytest.raises(SystemExit, match="differs"):
        leaky_of({**report(None), "provenance": {**stamp, "generator_sha256": "h"}},
                 "Blond_Hair", leaks, "r")  # fmt: skip
