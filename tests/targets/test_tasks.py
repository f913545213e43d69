"""Task losses, predictions, errors and NME on hand-made tensors; one-line shape errors."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from sia_audit.errors import DataError, ModelError, UsageError
from sia_audit.targets import TargetContract, make_task, task_names
from sia_audit.targets.tasks import BinaryTask, CoordsTask, HeatmapTask, MulticlassTask


def _one_line(info: pytest.ExceptionInfo[BaseException]) -> str:
    message = str(info.value)
    assert "\n" not in message
    return message


def test_registry_builds_configured_tasks() -> None:
    # One module per task registers it; the order is the import order, not a contract.
    assert set(task_names()) == {"binary", "multiclass", "keypoints-heatmap", "keypoints-coords"}
    heat = make_task(
        TargetContract(
            "keypoints-heatmap", (64, 64), num_keypoints=68, heatmap_sigma=2.0, nme_failure=0.08
        )
    )
    assert isinstance(heat, HeatmapTask)
    assert (heat.num_keypoints, heat.sigma, heat.nme_failure) == (68, 2.0, 0.08)
    multi = make_task(TargetContract("multiclass", (8, 8), num_classes=3))
    assert isinstance(multi, MulticlassTask) and multi.num_classes == 3


def test_binary() -> None:
    task = BinaryTask()
    logits = torch.tensor([2.0, -1.0, 0.0, -3.0])
    label = torch.tensor([1.0, 1.0, 0.0, 0.0])
    want = torch.tensor(
        [math.log1p(math.exp(-2)), math.log1p(math.exp(1)), math.log(2), math.log1p(math.exp(-3))]
    )
    torch.testing.assert_close(task.loss(logits, label), want)
    torch.testing.assert_close(task.loss(logits[:, None], label), want)
    assert task.predict(logits).tolist() == [1, 0, 0, 0]
    assert task.error(logits, label).tolist() == [0, 1, 0, 0]
    assert task.correct(logits[:, None], label).tolist() == [True, False, True, True]
    with pytest.raises(ModelError) as info:
        task.loss(torch.zeros(4, 2), label)
    assert "(B,) or (B, 1)" in _one_line(info) and "(4, 2)" in _one_line(info)
    with pytest.raises(ModelError, match="3 outputs for 4 images"):
        task.loss(torch.zeros(3), label)
    with pytest.raises(DataError, match="0 or 1"):
        task.validate(logits, torch.tensor([1.0, 2.0, 0.0, 0.0]))
    with pytest.raises(ModelError, match="non-finite") as info:
        task.validate(torch.tensor([0.0, math.nan, 0.0, 0.0]), label)
    _one_line(info)
    with pytest.raises(ModelError, match="one tensor"):
        task.loss((logits,), label)  # type: ignore[arg-type]


def test_multiclass() -> None:
    task = MulticlassTask(num_classes=3)
    logits = torch.tensor([[1.0, 2.0, 0.0], [0.0, 0.0, 5.0]])
    label = torch.tensor([1, 0])
    torch.testing.assert_close(
        task.loss(logits, label), F.cross_entropy(logits, label, reduction="none")
    )
    assert task.predict(logits).tolist() == [1, 2]
    assert task.error(logits, label).tolist() == [0, 1]
    with pytest.raises(ModelError) as info:
        task.loss(torch.zeros(2, 4), label)
    assert "(B, 3)" in _one_line(info) and "(2, 4)" in _one_line(info)
    with pytest.raises(DataError, match=r"\[0, 3\)"):
        task.validate(logits, torch.tensor([1, 3]))


def _face(n: int = 2) -> torch.Tensor:
    """68 landmarks at pixel centres of a 16x16 map; outer eye corners 8 pixels apart."""
    g = torch.Generator().manual_seed(0)
    pix = torch.randint(3, 12, (n, 68, 2), generator=g).double()
    pix[:, 36] = torch.tensor([4.0, 6.0])
    pix[:, 45] = torch.tensor([12.0, 6.0])
    return (pix + 0.5) / 16


def test_heatmap_targets_peak_at_the_landmark_pixel_centre() -> None:
    task = HeatmapTask(sigma=1.5)
    label = torch.tensor([[[2.5 / 16, 5.5 / 8]]], dtype=torch.float64)  # pixel (x=2, y=5)
    maps = task.heatmaps(label, (8, 16), torch.float64)
    assert maps.shape == (1, 1, 8, 16)
    assert maps[0, 0, 5, 2] == 1.0 and maps.flatten().argmax() == 5 * 16 + 2
    torch.testing.assert_close(
        maps[0, 0, 5, 3], torch.tensor(math.exp(-1 / 4.5), dtype=torch.float64)
    )
    torch.testing.assert_close(task.predict(maps), label)


def test_heatmap_loss_prediction_and_nme() -> None:
    task = HeatmapTask(sigma=1.0, nme_failure=0.10)
    gt = _face()
    perfect = task.heatmaps(gt, (16, 16), torch.float64)
    assert task.loss(perfect, gt).tolist() == [0.0, 0.0]
    torch.testing.assert_close(task.predict(perfect), gt)
    assert task.error(perfect, gt).tolist() == [0.0, 0.0]
    # Every point predicted one pixel right, probe 1 also one down: NME = |shift| / 8 pixels.
    shift = torch.tensor([[1.0, 0.0], [1.0, 1.0]], dtype=torch.float64) / 16
    shifted = task.heatmaps(gt + shift[:, None], (16, 16), torch.float64)
    torch.testing.assert_close(
        task.error(shifted, gt), torch.tensor([1 / 8, math.sqrt(2) / 8], dtype=torch.float64)
    )
    assert task.correct(shifted, gt).tolist() == [False, False]
    assert HeatmapTask(nme_failure=0.2).correct(shifted, gt).tolist() == [True, True]
    loss = task.loss(shifted, gt)
    assert (loss > 0).all()
    with pytest.raises(ModelError) as info:
        HeatmapTask(num_keypoints=68).loss(torch.zeros(2, 5, 16, 16), gt)
    assert "(B, 68, h, w)" in _one_line(info)
    with pytest.raises(DataError, match="landmarks"):
        task.loss(perfect, gt[:, :10])


def test_coords_mse_and_nme_of_a_known_shift() -> None:
    task = CoordsTask(nme_failure=0.10)
    gt = _face().float()
    shift = torch.tensor([3.0, 4.0]) / 16  # 5 pixels: NME = 5 / 8
    pred = gt + shift
    torch.testing.assert_close(task.loss(pred, gt), torch.full((2,), (9 + 16) / 2 / 256))
    torch.testing.assert_close(task.error(pred, gt), torch.full((2,), 5 / 8))
    assert task.correct(gt, gt).all() and not task.correct(pred, gt).any()
    with pytest.raises(ModelError) as info:
        task.loss(torch.zeros(2, 68, 3), gt)
    assert "(B, P, 2)" in _one_line(info)
    with pytest.raises(ModelError, match="points 36 and 45"):
        task.error(gt[:, :40], gt[:, :40])
    collapsed = gt.clone()
    collapsed[:, 45] = collapsed[:, 36]
    with pytest.raises(DataError, match="eye corners"):
        task.error(gt, collapsed)


def test_unknown_task_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="use one of binary"):
        TargetContract("regression", (8, 8))


class Probes:
    """Just what a task reads from a probe set: names and attributes."""

    def __init__(self, attrs: list[list[float]]) -> None:
        self.attr_names = ("Black_Hair", "Blond_Hair", "Smiling")
        self.names = tuple(f"p{i}" for i in range(len(attrs)))
        self.attrs = torch.tensor(attrs)
        self.landmarks = None
        self.output_size = (8, 8)


def test_multiclass_labels_come_from_the_class_attributes() -> None:
    contract = TargetContract("multiclass", (8, 8), classes=("Black_Hair", "Blond_Hair", "none"))
    task = make_task(contract)
    probes = Probes([[0.9, 0.0, 1.0], [0.1, 0.8, 0.0], [0.0, 0.2, 0.5]])
    assert task.labels(probes).tolist() == [0, 1, 2]  # the third has neither: `none`
    assert task.frozen_attributes() == ("Black_Hair", "Blond_Hair")
    assert task.num_classes == 3 and task.dummy_labels().tolist() == [0, 1]
    both = Probes([[0.9, 0.9, 0.0]])
    with pytest.raises(DataError, match="probe p0 has 2 of the classes") as info:
        task.labels(both)
    _one_line(info)
    strict = make_task(TargetContract("multiclass", (8, 8), classes=("Black_Hair", "Blond_Hair")))
    with pytest.raises(DataError, match="has 0 of the classes.*add a `none` class"):
        strict.labels(Probes([[0.0, 0.0, 1.0]]))
    with pytest.raises(DataError, match="needs `classes` in its contract"):
        MulticlassTask(num_classes=3).labels(probes)
    with pytest.raises(DataError, match="does not label it"):
        make_task(TargetContract("multiclass", (8, 8), classes=("Bald", "none"))).labels(probes)


@pytest.mark.parametrize(
    ("classes", "num_classes", "words"),
    [
        (("Black_Hair",), None, "classes"),
        (("Black_Hair", "Black_Hair"), None, "classes"),
        (("Black_Hair", "Blond_Hair"), 3, "num_classes=3"),
    ],
)
def test_bad_classes_are_refused(classes, num_classes, words: str) -> None:
    with pytest.raises(UsageError, match=words):
        TargetContract("multiclass", (8, 8), classes=classes, num_classes=num_classes)


def test_every_task_answers_what_the_pipeline_asks() -> None:
    # The pipeline compares no task names: each task says what the audit needs to know.
    for name in task_names():
        task = make_task(TargetContract(name, (8, 8), label="Smiling", classes=("Smiling", "none")))
        assert isinstance(task.keypoints, bool)
        assert isinstance(task.frozen_attributes(), tuple)
        assert task.dummy_labels().shape[0] == 2


def test_every_listed_task_name_is_registered_and_no_other() -> None:
    from sia_audit.targets.tasks import register_task, task_names
    from sia_audit.task_names import TASK_NAMES

    assert sorted(task_names()) == sorted(TASK_NAMES)
    with pytest.raises(ValueError, match="not listed"):
        register_task("segmentation")
