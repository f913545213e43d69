"""The demo targets' training recipes: their archives load as targets, their faces as labelled."""

from __future__ import annotations

import dataclasses
import json
import warnings
from pathlib import Path

import pytest
import torch

from scripts.training import (
    ARCHITECTURES,
    DEMO_RECIPES,
    HeatmapNet,
    KeypointRecipe,
    SmallCNN,
    faces,
    normalise,
    save_classifier,
    save_keypoints,
    train_classifier,
)
from sia_audit.probes.synthfaces.attributes import INDEX
from sia_audit.probes.synthfaces.sampler import AttributeSampler
from sia_audit.targets.contract import Target
from sia_audit.targets.loading import load_target


def _load(path: Path) -> tuple[Target, dict]:
    extra = {"sia_provenance.json": ""}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch.jit's deprecation notice
        target = load_target(str(path))
        torch.jit.load(str(path), _extra_files=extra)
    return target, json.loads(extra["sia_provenance.json"])


def test_a_saved_classifier_is_a_binary_target_with_its_recipe(tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = SmallCNN(width=4).eval()
    recipe = DEMO_RECIPES["eyeglasses_biased"]
    save_classifier(model, recipe, 3, tmp_path / "m.pt", trained_by="tests")
    target, provenance = _load(tmp_path / "m.pt")
    c = target.contract
    assert (c.task, c.label, c.input_size, c.mean, c.std) == (
        "binary",
        "Eyeglasses",
        (64, 64),
        (0.5, 0.5, 0.5),
        (0.5, 0.5, 0.5),
    )
    assert provenance["trained_by"] == "tests" and provenance["steps"] == 3
    assert provenance["label_reliability"] == recipe.label_reliability
    assert provenance["seed"] == recipe.seed
    x = torch.rand(2, 3, 64, 64, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():  # the target normalises as the contract says, as training did
        torch.testing.assert_close(target(x), model(normalise(x)))


@pytest.mark.parametrize("arch", sorted(ARCHITECTURES))
def test_every_architecture_saves_as_a_target_that_names_it(tmp_path: Path, arch: str) -> None:
    torch.manual_seed(0)
    model = ARCHITECTURES[arch]().eval()
    recipe = dataclasses.replace(DEMO_RECIPES["eyeglasses_control"], arch=arch)
    save_classifier(model, recipe, 1, tmp_path / "m.pt", trained_by="tests")
    target, provenance = _load(tmp_path / "m.pt")
    assert provenance["arch"] == arch
    x = torch.rand(3, 3, 64, 64, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        torch.testing.assert_close(target(x), model(normalise(x)))


def test_a_saved_keypoint_detector_is_a_heatmap_target(tmp_path: Path) -> None:
    torch.manual_seed(0)
    recipe = KeypointRecipe(width=4)
    model = HeatmapNet(recipe.width, heatmap=recipe.heatmap).eval()
    save_keypoints(model, recipe, {"nme_clean": 1.0}, tmp_path / "k.pt", trained_by="tests")
    target, provenance = _load(tmp_path / "k.pt")
    c = target.contract
    assert (c.task, c.num_keypoints, c.heatmap_sigma) == ("keypoints-heatmap", 68, 2.0)
    assert provenance["recipe"]["width"] == 4 and provenance["held_out"] == {"nme_clean": 1.0}


def test_an_unreliable_label_is_drawn_the_other_way_and_keeps_its_state() -> None:
    k = INDEX["Eyeglasses"]

    def draw(reliability: float) -> tuple[torch.Tensor, torch.Tensor]:
        rng = torch.Generator().manual_seed(3)
        _, attrs, on, _ = faces(200, rng, AttributeSampler(), "Eyeglasses", reliability)
        return attrs[:, k] >= 0.5, on[:, k]

    drawn, label = draw(1.0)
    assert torch.equal(drawn, label)
    drawn, same_label = draw(0.8)
    assert torch.equal(same_label, label)  # the training labels stay; only the pictures lie
    assert 0.1 < float((drawn != label).float().mean()) < 0.3


def test_training_stops_where_the_caller_says_and_logs_every_check() -> None:
    recipe = dataclasses.replace(DEMO_RECIPES["eyeglasses_biased"], steps=4)
    seen: list[int] = []
    lines: list[str] = []

    def stop(step: int, figures: dict[str, float]) -> bool:
        assert set(figures) == {"clean_acc", "recon_acc", "acc_where_Mustache_disagrees"}
        seen.append(step)
        return step == 2

    model = train_classifier(recipe, 4, lines.append, eval_every=1, stop=stop)
    assert seen == [1, 2] and len(lines) == 2 and not model.training
    tracked = {int(m.num_batches_tracked) for m in model.modules() if hasattr(m, "running_mean")}
    assert tracked == {2}  # the model returned is the one at the stop
