"""The Task interface (docs/design.md) and its registry by name; one module per task beside it.

A task knows everything the pipeline needs about a model's output: the loss the attack ascends,
the prediction and error, the label each probe carries for it, a valid label batch for load-time
checks, which generator attributes are its own label (frozen in the attack), the figures that
score an attack by its error, and which labels an export of adversaries writes. No other module
compares task names or asks which kind of task it holds.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar, Protocol

import torch
from torch import Tensor

from sia_audit.errors import DataError, ModelError, UsageError
from sia_audit.metrics.accuracy import attack_success_rate
from sia_audit.metrics.bootstrap import BootstrapConfig
from sia_audit.metrics.estimate import EmptyMetricError, Estimate
from sia_audit.probes.interface import ProbeSet
from sia_audit.task_names import TASK_NAMES


class Contract(Protocol):
    """The fields of a target contract (targets.contract.TargetContract) a task reads.

    Read-only members (properties), so that a frozen contract satisfies them."""

    @property
    def task(self) -> str: ...
    @property
    def label(self) -> str | None: ...
    @property
    def classes(self) -> tuple[str, ...] | None: ...
    @property
    def num_classes(self) -> int | None: ...
    @property
    def num_keypoints(self) -> int | None: ...
    @property
    def heatmap_sigma(self) -> float: ...
    @property
    def nme_failure(self) -> float: ...


class Outcome(Protocol):
    """Per-probe results of one attack that a task scores (results.ProbeData has them).

    Read-only members (properties), so that the frozen ProbeData satisfies them."""

    @property
    def error_clean(self) -> Tensor: ...
    @property
    def error_adv(self) -> Tensor: ...
    @property
    def correct_clean(self) -> Tensor: ...
    @property
    def correct_adv(self) -> Tensor: ...


@dataclass(frozen=True)
class ErrorFigures:
    """The figures of one attack that depend on how the task scores an answer."""

    attack_success_rate: Estimate
    mean_nme: Estimate | None = None  # keypoint tasks: the adversaries' mean NME
    failure_rate: Estimate | None = None  # keypoint tasks: the share of them past nme_failure


def shape(t: Tensor) -> tuple[int, ...]:
    return tuple(t.shape)


def as_tensor(output: object, name: str) -> Tensor:
    if not isinstance(output, Tensor):
        raise ModelError(
            f"{name} target must return one tensor but returned {type(output).__name__}; "
            "wrap the model so it returns the task's output tensor"
        )
    return output


def check_batch(output: Tensor, label: Tensor, name: str) -> None:
    if output.shape[0] != label.shape[0]:
        raise ModelError(
            f"{name} target returned {output.shape[0]} outputs for {label.shape[0]} images; "
            "the model must keep the batch on dim 0"
        )


def float_dtype(t: Tensor) -> torch.dtype:
    # bf16/fp16 outputs (autocast) are scored in float32; float64 stays float64.
    return torch.promote_types(t.dtype, torch.float32)


class Task(ABC):
    """A target task: per-sample loss (what the attack ascends), prediction and error.

    `check` is shape-only and cheap (it runs at every attack step); `validate` also checks label
    values and that the output is finite, which synchronises a GPU, so the engine runs it once.
    """

    name: ClassVar[str]
    # The error is a keypoint NME and the labels are landmarks; a report records it. Code that
    # needs to act on it asks the task (attack_figures, exported_landmarks) instead.
    keypoints: ClassVar[bool] = False
    outputs_logits: ClassVar[bool] = False  # the loss expects logits (a validity flag checks)

    @classmethod
    def from_contract(cls, contract: Contract) -> Task:
        return cls()

    @abstractmethod
    def labels(self, probes: ProbeSet) -> Tensor:
        """The label every probe carries for this task (what the attack ascends against)."""

    @abstractmethod
    def dummy_labels(self) -> Tensor:
        """Two valid labels, for the check that a model loads and has an input gradient."""

    def label_text(self, label: int) -> str:
        """A label as a label file beside exported images writes it."""
        return str(label)

    def frozen_attributes(self) -> tuple[str, ...]:
        """Generator attributes that are the target's own label: radius 0 by default, so that
        the attack cannot succeed by changing the very attribute the target predicts."""
        return ()

    def exported_landmarks(self, probes: ProbeSet) -> Tensor | None:
        """The landmarks an export of adversaries writes beside them: none by default, since
        SIA moves the face (a smile, a jaw) and a probe's landmarks would mislabel its
        adversary; its label goes to a label file instead (`label_text`)."""
        return None

    def attack_figures(self, d: Outcome, attack: str, config: BootstrapConfig) -> ErrorFigures:
        """An attack's success rate: among the probes right on x0, the share it turns wrong.

        With no probe right on x0 there is nothing to attack: the rate is an explicit 0 over 0
        probes, said so in its definition, rather than NaN.
        """
        try:
            asr = attack_success_rate(d.correct_clean, d.correct_adv, attack=attack, config=config)
        except EmptyMetricError:
            asr = Estimate(
                value=0.0,
                low=0.0,
                high=0.0,
                n=0,
                level=config.level,
                definition=f"{attack}: undefined, the target gets no probe right on x0",
            )
        return ErrorFigures(asr)

    @abstractmethod
    def check(self, output: Tensor, label: Tensor) -> Tensor:
        """The output in canonical shape; a wrong output is a one-line ModelError."""

    @abstractmethod
    def loss(self, output: Tensor, label: Tensor) -> Tensor:
        """Per-sample loss (B,)."""

    @abstractmethod
    def predict(self, output: Tensor) -> Tensor:
        """The prediction per image."""

    @abstractmethod
    def error(self, output: Tensor, label: Tensor) -> Tensor:
        """Per-sample error (B,): 0/1 misclassification, or NME for keypoints."""

    def correct(self, output: Tensor, label: Tensor) -> Tensor:
        """Bool (B,): whether the target gets the image right."""
        return self.error(output, label) == 0

    def check_label(self, label: Tensor) -> None:  # noqa: B027 - most tasks accept any value
        """Label values the task accepts (a DataError otherwise)."""

    def validate(self, output: Tensor, label: Tensor) -> None:
        """Full check of one output/label pair: shapes, label values, finiteness."""
        output = self.check(output, label)
        self.check_label(label)
        if not bool(torch.isfinite(output).all()):
            raise ModelError(
                f"{self.name} target produced non-finite outputs (NaN or inf); "
                "check the model's weights and its input normalisation"
            )


_TASKS: dict[str, type[Task]] = {}


def register_task(name: str) -> Callable[[type[Task]], type[Task]]:
    """Register a Task class under `name`, which sia_audit.task_names must list."""
    if name not in TASK_NAMES:
        raise ValueError(f"task {name!r} is not listed in sia_audit.task_names.TASK_NAMES")

    def register(cls: type[Task]) -> type[Task]:
        cls.name = name
        _TASKS[name] = cls
        return cls

    return register


def task_names() -> tuple[str, ...]:
    return tuple(_TASKS)


def task_class(name: str) -> type[Task]:
    try:
        return _TASKS[name]
    except (KeyError, TypeError):
        raise UsageError(f"unknown target task {name!r}; use one of {', '.join(_TASKS)}") from None


def make_task(contract: Contract) -> Task:
    """The task object a contract declares, configured from it (classes, sigma, threshold)."""
    return task_class(contract.task).from_contract(contract)


def attribute_column(probes: ProbeSet, name: str, task: str) -> Tensor:
    """One attribute of every probe, (N,), or a DataError when the probe set lacks it."""
    if name not in probes.attr_names:
        raise DataError(
            f"the {task} target predicts {name!r} but the probe set does not label it; "
            "use probes that label the target's attribute"
        )
    return probes.attrs[:, probes.attr_names.index(name)]
