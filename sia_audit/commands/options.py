"""Options several commands share."""

from __future__ import annotations

import click


def format_option(help_text: str, metavar: str = "json|html|pdf|md|all"):  # noqa: ANN201
    """The --format option `run` and `render` share (a click decorator)."""
    return click.option("--format", "formats", multiple=True, metavar=metavar, help=help_text)


def threads_option():  # noqa: ANN201 - a click decorator
    """--threads: how many CPU threads torch may use."""
    return click.option(
        "--threads",
        type=click.IntRange(min=1),
        default=None,
        help="CPU threads for torch [default: torch's own choice: OMP_NUM_THREADS if set, else "
        "the machine's cores]. On a machine shared with other jobs, 1 can be several times "
        "faster than 2 (threads wait for each other).",
    )


def set_threads(threads: int | None) -> None:
    """Apply --threads (before any model runs); None keeps torch's default."""
    if threads is not None:
        import torch  # only when asked: --help and render must not import torch

        torch.set_num_threads(threads)
