"""Policy files: defaults, '1.5/255' units, and errors that name the file, key path and line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sia_audit.attacks.config import AttackConfig
from sia_audit.errors import ConfigError
from sia_audit.policy import load_policy, policy_schema

GOOD = """\
version: 1
probes:
  source: builtin:synthfaces
  count: 64
attack:
  steps: 50
  eps_x: 1.5/255
  radii: {Eyeglasses: 0.0}
protected: [Mustache, Male]
gates:
  sdar: {max: 0.05, use_confidence: true}
  sensitivity: {max: 0.1, attributes: protected}
  clean_accuracy: {min: 0.98}
  attack_success_rate: {max: {full: 0.6, pgd: 0.9}}
  regression: {sdar_increase: 0.01}
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "policy.yaml"
    path.write_text(text)
    return path


def test_good_policy_with_pixel_units(tmp_path: Path) -> None:
    policy = load_policy(write(tmp_path, GOOD))
    assert policy.attack.eps_x == pytest.approx(1.5 / 255)
    assert policy.gates.sdar.use_confidence and policy.protected == ("Mustache", "Male")
    assert policy.probes.count == 64 and policy.generator.source == "builtin:synthfaces"


@pytest.mark.parametrize(
    ("text", "words"),
    [
        (GOOD.replace("  steps: 50", "  stepz: 50"), ":6: attack.stepz: unknown key"),
        (GOOD.replace("  count: 64", "  count: many"), ":4: probes.count: Input should be"),
        (GOOD.replace("1.5/255", "1.5//255"), ":7: attack.eps_x: '1.5//255' is neither"),
        (GOOD.replace("{min: 0.98}", "{min: 1.5}"), ":13: gates.clean_accuracy.min: Input"),
        (GOOD.replace("{max: 0.05,", "{max: -0.1,"), ":11: gates.sdar.max: Input should"),
        (GOOD.replace("{max: 0.05,", "{max: .nan,"), ":11: gates.sdar.max: Input should be"),
        (GOOD.replace("pgd: 0.9", "cw: 0.9"), "names attacks ['cw']"),
        (GOOD.replace("protected: [Mustache, Male]", "protected: []"), "`protected` is empty"),
        (GOOD.replace("  sdar: {max", "  sdar: {maxx"), ":11: gates.sdar"),
        ("- just\n- a list\n", "a policy is a YAML mapping of sections, got list"),
        ("", "got empty"),
        ("attack: [unclosed\n", "not valid YAML"),
        (GOOD.replace("version: 1", "version: 2"), ":1: version:"),
        (GOOD.replace("1.5/255", "1/0"), ":7: attack.eps_x: '1/0' divides by zero"),
        (GOOD.replace("1.5/255", "2/0.0"), ":7: attack.eps_x: '2/0.0' divides by zero"),
        (GOOD.replace("[Mustache, Male]", "[Mustache, Mustache]"), ":9: protected: lists 'Mus"),
        (GOOD + "subpopulations: [Male, Young, Male]\n", ":16: subpopulations: lists 'Male' tw"),
        (
            GOOD.replace("attributes: protected", "attributes: [Bald, Bald]"),
            ":12: gates.sensitivity.attributes: lists 'Bald' twice",
        ),
        (
            GOOD.replace("  steps: 50", "  steps: 50\n  baselines: [pgd, pgd]"),
            ":7: attack.baselines: lists 'pgd' twice",
        ),
        (GOOD.replace("  steps: 50", "  steps: 50\n  steps: 60"), ":7: attack.steps: given twice"),
        (GOOD + "protected: [Male]\n", ":16: protected: given twice"),
        (
            GOOD.replace("attributes: protected", "attributes: []"),
            ":12: gates.sensitivity.attributes: lists no attribute, so the gate would check "
            "nothing",
        ),
        ("a: &x [1, *x]\n", "its YAML aliases expand to more than 10,000"),
        ("a: " + "[" * 20_000 + "]" * 20_000 + "\n", "nested too deeply"),
    ],
)
def test_bad_policies_are_one_line_with_file_and_line(
    tmp_path: Path, text: str, words: str
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_policy(path)
    message = str(info.value)
    assert "\n" not in message and str(path) in message
    assert words in message, message


def alias_bomb(levels: int = 9, width: int = 9) -> str:
    """A policy of nested aliases: 9 levels of 9 are half a kilobyte, 387 million values."""
    lines = ["version: 1", "x:", f"  a0: &a0 [{', '.join(['Male'] * width)}]"]
    for i in range(1, levels):
        lines.append(f"  a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * width)}]")
    return "\n".join([*lines, f"protected: *a{levels - 1}", ""])


@pytest.mark.parametrize("where", ["protected", "unknown key"])
def test_an_alias_bomb_is_refused_within_a_second(tmp_path: Path, where: str) -> None:
    import time

    text = alias_bomb()
    if where == "unknown key":
        text = text.replace("protected: *a8", "gates: {sdar: {max: 0.1}}")
    assert len(text) < 1024
    path = write(tmp_path, text)
    t0 = time.perf_counter()
    with pytest.raises(ConfigError, match="its YAML aliases expand to more than 10,000"):
        load_policy(path)
    assert time.perf_counter() - t0 < 1.0


def test_aliases_of_a_real_size_are_fine(tmp_path: Path) -> None:
    text = GOOD.replace("protected: [Mustache, Male]", "protected: &mine [Mustache, Male]")
    text = text.replace("attributes: protected}", "attributes: *mine}")
    policy = load_policy(write(tmp_path, text))
    assert policy.gates.sensitivity.attributes == ("Mustache", "Male") == policy.protected


def test_unreadable_policy(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_policy(tmp_path / "missing.yaml")


def test_schema_documents_every_field() -> None:
    schema = json.loads(policy_schema())
    assert schema["additionalProperties"] is False
    attack = schema["$defs"]["AttackSection"]["properties"]
    assert all("description" in field for field in attack.values())


def test_policy_schema_command() -> None:
    from click.testing import CliRunner

    from sia_audit.cli import cli

    result = CliRunner().invoke(cli, ["policy-schema"])
    assert result.exit_code == 0 and json.loads(result.output)["title"] == "Policy"


def test_shipped_example_policies_are_valid() -> None:
    policies = sorted((Path(__file__).resolve().parents[2] / "policies").glob("*.yaml"))
    assert policies, "policies/ holds no example"
    for path in policies:
        load_policy(path)


def test_acceleration_flags(tmp_path: Path) -> None:
    # Off by default; CUDA graphs exist only as a mode of torch.compile.
    assert not load_policy(write(tmp_path, GOOD)).attack.torch_compile
    on = load_policy(
        write(tmp_path, GOOD.replace("  steps: 50", "  steps: 50\n  torch_compile: true"))
    )
    assert on.attack.torch_compile and not on.attack.cuda_graphs
    with pytest.raises(ConfigError, match="cuda_graphs needs torch_compile"):
        load_policy(
            write(tmp_path, GOOD.replace("  steps: 50", "  steps: 50\n  cuda_graphs: true"))
        )


def test_generator_as_a_string_or_a_section_and_editability_defaults(tmp_path: Path) -> None:
    plain = load_policy(write(tmp_path, GOOD))
    assert plain.generator.attribute_classifier is None
    assert plain.editability.min_expression == 0.8 and plain.editability.on_unmeasurable == "fail"
    text = GOOD.replace(
        "attack:\n",
        "generator: {source: gen.pt, attribute_classifier: clf.pt}\n"
        "editability: {min_expression: 0.9, on_unmeasurable: skip}\nattack:\n",
    )
    policy = load_policy(write(tmp_path, text))
    assert policy.generator.source == "gen.pt"
    assert policy.generator.attribute_classifier == "clf.pt"
    assert policy.editability.min_expression == 0.9
    assert policy.editability.on_unmeasurable == "skip"


@pytest.mark.parametrize(
    ("section", "words"),
    [
        ("editability: {min_expression: 1.5}", "editability.min_expression"),
        ("editability: {on_unmeasurable: warn}", "editability.on_unmeasurable"),
        ("generator: {source: g.pt, classifier: c.pt}", "generator.classifier"),
    ],
)
def test_bad_editability_settings_name_their_key(tmp_path: Path, section: str, words: str) -> None:
    path = write(tmp_path, GOOD.replace("attack:\n", section + "\nattack:\n"))
    with pytest.raises(ConfigError) as info:
        load_policy(path)
    assert words in str(info.value) and "\n" not in str(info.value)


def test_presets_fill_the_keys_a_policy_leaves_out(tmp_path: Path) -> None:
    ci = load_policy(write(tmp_path, "version: 1\n")).attack
    assert (ci.preset, ci.steps, ci.eta_x, ci.eta_a) == ("ci", 50, 1 / 255, 1 / 255)
    paper = load_policy(write(tmp_path, "attack: {preset: paper}\n")).attack
    assert (paper.steps, paper.eta_x, paper.eta_a) == (200, 0.25 / 255, 0.25 / 255)
    # Both presets are the engine's by name (AttackConfig() being ci), so they cannot drift.
    assert paper.to_config() == AttackConfig.preset("paper")
    assert ci.to_config() == AttackConfig.preset("ci") == AttackConfig()
    mixed = load_policy(write(tmp_path, "attack: {preset: paper, steps: 100}\n")).attack
    assert (mixed.steps, mixed.eta_a) == (100, 0.25 / 255)
    with pytest.raises(ConfigError, match="attack.preset"):
        load_policy(write(tmp_path, "attack: {preset: fast}\n"))


@pytest.mark.parametrize(
    ("attack", "words"),
    [
        ("{variant: pgd}", "the main attack must move attributes"),
        ("{variant: sia}", "unknown attack variant 'sia'"),
        ("{baselines: [full]}", "baseline 'full' is not a pixel attack"),
        ("{variant: attr+partial-image, steps: 10}", "partial_steps=20 is invalid"),
    ],
)
def test_attack_rules_are_the_engine_s(tmp_path: Path, attack: str, words: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_policy(write(tmp_path, f"attack: {attack}\n"))
    assert words in str(info.value) and ":1: attack:" in str(info.value)


def test_on_off_yes_no_are_words_not_booleans(tmp_path: Path) -> None:
    """YAML 1.1 reads `on` as True, which made the SDAR gate's `on: h` key unwritable."""
    policy = load_policy(write(tmp_path, "version: 1\ngates:\n  sdar: {max: 0.05, on: h}\n"))
    assert policy.gates.sdar is not None and policy.gates.sdar.on == "h"
    flags = load_policy(write(tmp_path, "version: 1\nflags: {loss_not_raised: fail}\n"))
    assert flags.flags.loss_not_raised == "fail"
    with pytest.raises(ConfigError, match="use_confidence"):
        load_policy(
            write(tmp_path, "version: 1\ngates:\n  sdar: {max: 0.1, use_confidence: maybe}\n")
        )
