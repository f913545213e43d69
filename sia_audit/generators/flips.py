"""Single-attribute flips of a generator's input, as the editability check and the
generator's evaluation make them."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import torch
from torch import Tensor

# Attributes of which at most one is on (CelebA labels one hair colour, the synthfaces sampler
# draws one, and AttGAN-PyTorch's check_attribute_conflict switches the others off when one is
# turned on): a flip that turns one on turns the others off, or the true edit is a blend of
# two colours that shows neither. Their moves are the flip itself, not leakage.
EXCLUSIVE_GROUPS: tuple[tuple[str, ...], ...] = (
    ("Black_Hair", "Blond_Hair", "Brown_Hair", "Gray_Hair"),
)


def flipped(a: Tensor, j: int, names: Sequence[str]) -> Tensor:
    """`a` with attribute j flipped (a_j -> 1 - a_j), its exclusive partners off if it turns on."""
    out = a.clone()
    out[:, j] = 1 - a[:, j]
    on = out[:, j] >= 0.5
    for group in EXCLUSIVE_GROUPS:
        if names[j] in group:
            for other in group:
                if other != names[j] and other in names:
                    out[on, names.index(other)] = 0.0
    return out


def intended(names: Sequence[str]) -> Tensor:
    """(K, K) bool: [k, j] where flipping k is meant to move j (itself, its exclusive group)."""
    k = len(names)
    mask = torch.eye(k, dtype=torch.bool)
    for group in EXCLUSIVE_GROUPS:
        members = [names.index(n) for n in group if n in names]
        for i in members:
            mask[i, members] = True
    return mask


def label_partners(names: Sequence[str], frozen: Sequence[str]) -> tuple[str, ...]:
    """The attributes (not frozen) whose flip moves a frozen one: its exclusive partners. A
    counterfactual flip of one of them changes the target's label, not only a feature."""
    mask = intended(names)
    return tuple(
        name
        for k, name in enumerate(names)
        if name not in frozen
        and any(bool(mask[k, names.index(f)]) for f in frozen if f in names and f != name)
    )


def label_changers(
    names: Sequence[str], frozen: Sequence[str], leaky: Iterable[str] = ()
) -> tuple[str, ...]:
    """The attributes whose counterfactual flip changes the target's label, not only a feature:
    the label's exclusive partners, and `leaky`, those whose flip redraws the label's own
    feature (the editability check saw it move the label's classifier reading by more than
    MAX_LABEL_LEAK; an audit's counterfactual flips name them). The report's flip figures and
    the threshold gates on them leave these out; the regression gates leave out only the
    partners (`label_partners`) and compare the rest, paired by probe."""
    partners = label_partners(names, frozen)
    more = set(leaky)
    return partners + tuple(n for n in names if n in more and n not in partners)
