"""Sizes past which a model's declared input is refused before anything is allocated.

A contract is text the user wrote (or a model's author did); a typo such as an input size of
1,000,000 x 1,000,000 would otherwise reach the load-time check as a request for terabytes,
which ends in an allocation traceback instead of one line naming the key.
"""

from __future__ import annotations

# Vision models take at most a few thousand pixels a side (ImageNet 224, faces 128 to 1024,
# detection 1333, remote sensing tiles 2048 to 4096); SIA resizes the generator's images to it.
MAX_INPUT_SIDE = 4096


def input_size_problem(size: tuple[int, int]) -> str | None:
    """Why an (height, width) input size cannot be used, or None when it can."""
    if max(size) > MAX_INPUT_SIDE:
        return (
            f"a side above {MAX_INPUT_SIDE} pixels, which no audit can allocate batches of "
            f"(a (2, 3, {size[0]}, {size[1]}) float batch alone is "
            f"{2 * 3 * size[0] * size[1] * 4 / 1e9:,.3g} GB)"
        )
    return None
