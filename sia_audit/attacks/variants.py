"""The one registry of attack variant names: which space moves at which step, and how."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal

from sia_audit.errors import UsageError

# When a space is updated: every step, only the first `partial_steps` steps, or never.
Schedule = Literal["all", "partial", "none"]


@dataclass(frozen=True)
class Variant:
    """One attack of the paper's comparison (Table 2 and Table 3), as the engine runs it."""

    name: str
    paper_label: str
    description: str
    uses_generator: bool
    x_schedule: Schedule
    a_schedule: Schedule
    # "sign": signed-gradient ascent (SIA, PGD, FGSM); "rmsprop": raw gradients (SPT).
    update: Literal["sign", "rmsprop"] = "sign"
    # One signed step of eps_x from x0 (FGSM), whatever the config's steps: nothing to iterate
    # and no start to randomise.
    one_step: bool = False

    def moves_x(self, step: int, partial_steps: int) -> bool:
        """Whether x is updated at `step` (1-based)."""
        return _active(self.x_schedule, step, partial_steps)

    def moves_a(self, step: int, partial_steps: int) -> bool:
        """Whether the attributes are updated at `step` (1-based)."""
        return _active(self.a_schedule, step, partial_steps)

    @property
    def is_partial(self) -> bool:
        return "partial" in (self.x_schedule, self.a_schedule)

    def steps_taken(self, steps: int) -> int:
        """The steps this variant takes under a config of `steps` (what a report shows)."""
        return 1 if self.one_step else steps


def _active(schedule: Schedule, step: int, partial_steps: int) -> bool:
    return schedule == "all" or (schedule == "partial" and step <= partial_steps)


_ALL: tuple[Variant, ...] = (
    Variant("full", "Full", "SIA: attributes and image, every step", True, "all", "all"),
    Variant("attr", "A", "attributes only; the image stays x0", True, "none", "all"),
    Variant("image", "I", "image only (still through G); attributes stay a0", True, "all", "none"),
    Variant(
        "attr+partial-image",
        "A + PI",
        "attributes every step; image only in the first partial_steps steps",
        True,
        "partial",
        "all",
    ),
    Variant(
        "image+partial-attr",
        "I + PA",
        "image every step; attributes only in the first partial_steps steps",
        True,
        "all",
        "partial",
    ),
    Variant(
        "spt",
        "SPT",
        "attributes only, raw gradients with RMSprop (Joshi et al. 2019)",
        True,
        "none",
        "all",
        update="rmsprop",
    ),
    Variant(
        "fgsm",
        "FGSM",
        "one signed step of eps_x on the target alone",
        False,
        "all",
        "none",
        one_step=True,
    ),
    Variant("pgd", "PGD", "steps signed steps of eta_x in the eps_x ball", False, "all", "none"),
)

VARIANTS: Mapping[str, Variant] = MappingProxyType({v.name: v for v in _ALL})
GENERATOR_VARIANTS: tuple[str, ...] = tuple(v.name for v in _ALL if v.uses_generator)
PIXEL_VARIANTS: tuple[str, ...] = tuple(v.name for v in _ALL if not v.uses_generator)


def variant_names() -> tuple[str, ...]:
    return tuple(VARIANTS)


def get_variant(name: str) -> Variant:
    """The variant called `name`; an unknown name is a UsageError listing the known ones."""
    try:
        return VARIANTS[name]
    except (KeyError, TypeError):
        raise UsageError(
            f"unknown attack variant {name!r}; use one of {', '.join(VARIANTS)}"
        ) from None


def check_plan(main: str, baselines: Sequence[str]) -> None:
    """An audit's attacks: the main one moves attributes, the baselines are pixel attacks.

    The one check of these rules: the policy, AuditConfig and the batch loop all call it.
    """
    if not get_variant(main).uses_generator:
        raise UsageError(
            f"the main attack must move attributes (one of {', '.join(GENERATOR_VARIANTS)}), "
            f"not {main!r}; pixel attacks run as baselines"
        )
    for name in baselines:
        if get_variant(name).uses_generator:
            raise UsageError(
                f"baseline {name!r} is not a pixel attack; use {', '.join(PIXEL_VARIANTS)}"
            )
