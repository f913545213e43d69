"""The best region PSNR any generator can reach, given what the input shows.

A generator sees the input face x and the target attributes, never the renderer's parameters.
Some parameters of the true edit do not show in x at all: the eyeglasses' frame colour and
shape on a face without glasses, the length of the hair under a bald scalp. No generator can
know them, and for squared error the best it can draw is the true edit averaged over every
value they may take, E[R(id, nu, a') | x]. This measures that average's PSNR against the truth,
inside each attribute's region (the figure the region goal is set on): a ceiling that no
generator of renderer version 2 can beat, whatever its training.

How: an identity parameter is *hidden* on a face when resampling it alone leaves x unchanged,
under two tests: every pixel within 1e-6 (exactly hidden), or within one grey level, 1/255
(what an 8-bit image cannot show; features whose intensity is "off" at up to 0.1 still show
faintly). The hidden parameters of each face are resampled together M times
(kept only where x stays unchanged), the true edits rendered and averaged. Parameters that
show in x, even faintly, keep their true value, so the ceiling is generous: a real generator
must also read those from the pixels. With M samples the averaged edit's squared error is
(1 + 1/M) times the exact one's; the table divides that out.

    PYTHONPATH=. nice .venv/bin/python -m benchmarks.generator.ceiling [--faces 128] [--samples 8]

Log: docs/logs/generator_ceiling.log. Renders only (no generator runs); nothing is cached.
"""

from __future__ import annotations

import argparse
import math
import time

import torch
from torch import Tensor

from benchmarks import paths
from scripts.training import logger
from sia_audit.generators.flips import flipped
from sia_audit.generators.training.evaluate import HELD_OUT_SEED, held_out, region_psnr
from sia_audit.metrics.image_quality import edit_region
from sia_audit.probes.synthfaces.attributes import ATTRIBUTES
from sia_audit.probes.synthfaces.params import IDENTITY_PARAMS
from sia_audit.probes.synthfaces.renderer import render

LOG = paths.LOGS / "generator_ceiling.log"
REGION_GOAL = 25.0
UNCHANGED = 1e-6  # a parameter is hidden when x moves by no more than this anywhere
GREY_LEVEL = 1 / 255  # the looser test: hidden below one grey level of an 8-bit image
REVEALED = 1 / 255  # an edit reveals a hidden parameter when its average moves by more


def _changed(a: Tensor, b: Tensor, tol: float = UNCHANGED) -> Tensor:
    """(B,) bool: the two batches of images differ somewhere by more than tol."""
    return (a - b).abs().flatten(1).amax(1) > tol


def hidden_parameters(
    identity: Tensor,
    nuisance: Tensor,
    a: Tensor,
    x: Tensor,
    gen: torch.Generator,
    tol: float = UNCHANGED,
) -> Tensor:
    """(B, P) bool: identity parameter j does not show in x, the face rendered from (identity,
    a).

    Tested by resampling j alone to a fresh uniform value; a parameter that moves x for that
    value shows (it may still not show for others, so this errs on the side of "shows")."""
    hidden = torch.zeros(identity.shape, dtype=torch.bool)
    for j in range(identity.shape[1]):
        other = identity.clone()
        other[:, j] = torch.rand(len(identity), generator=gen)
        hidden[:, j] = ~_changed(render(other, nuisance, a).images, x, tol)
    return hidden


def posterior_mean_edit(
    identity: Tensor,
    nuisance: Tensor,
    a: Tensor,
    b: Tensor,
    x: Tensor,
    truth: Tensor,
    hidden: Tensor,
    samples: int,
    gen: torch.Generator,
    tol: float = UNCHANGED,
) -> tuple[Tensor, int]:
    """The true edit to b averaged over the hidden parameters, and how many draws were dropped.
    x and truth are the renders of (identity, a) and (identity, b).

    Each draw resamples every hidden parameter of a face at once; a draw under which x changes
    (two hidden parameters that show together) is dropped for that face and the face's true
    edit is used in its place, which only flatters the ceiling."""
    total = torch.zeros_like(truth)
    dropped = 0
    for _ in range(samples):
        draw = torch.where(hidden, torch.rand(identity.shape, generator=gen), identity)
        keep = ~_changed(render(draw, nuisance, a).images, x, tol)
        dropped += int((~keep).sum())
        edit = render(draw, nuisance, b).images
        total += torch.where(keep.view(-1, 1, 1, 1), edit, truth)
    return total / samples, dropped


def corrected_psnr(estimate: Tensor, truth: Tensor, mask: Tensor, samples: int) -> float:
    """Region PSNR of the exact posterior mean, from an M-sample estimate of it: the estimate's
    squared error is (1 + 1/M) times the exact one's in expectation, which adds 10 log10(1 + 1/M)
    dB back."""
    return region_psnr(estimate, truth, mask) + 10 * math.log10(1 + 1 / samples)


def measure(
    faces: int, samples: int, tol: float = UNCHANGED, seed: int = HELD_OUT_SEED
) -> tuple[list[dict], dict[str, float]]:
    data = held_out(faces, 64, seed)
    gen = torch.Generator().manual_seed(seed + 7)
    hidden = hidden_parameters(data.identity, data.nuisance, data.a, data.x, gen, tol)
    rows = []
    for k, name in enumerate(ATTRIBUTES):
        b = flipped(data.a, k, ATTRIBUTES)
        truth = render(data.identity, data.nuisance, b).images
        mask = edit_region(data.x, truth)
        mean, dropped = posterior_mean_edit(
            data.identity, data.nuisance, data.a, b, data.x, truth, hidden, samples, gen, tol
        )
        # Faces whose edit reveals a hidden parameter: the averaged edit is visibly not the truth.
        moved = _changed(mean, truth, REVEALED)
        rows.append(
            {
                "attribute": name,
                "ceiling": corrected_psnr(mean, truth, mask, samples),
                "faces_hiding": float(moved.float().mean()),
                "dropped": dropped / (faces * samples),
                "pixels": float(mask.sum()) / faces,
            }
        )
    names = [IDENTITY_PARAMS[j] for j in range(len(IDENTITY_PARAMS)) if hidden[:, j].any()]
    shares = {n: float(hidden[:, IDENTITY_PARAMS.index(n)].float().mean()) for n in names}
    return rows, shares


def table(exact: list[dict], grey: list[dict]) -> str:
    """One row per attribute: the ceiling under both tests of "hidden"."""
    lines = [
        "| attribute | ceiling, exactly hidden (dB) | ceiling, hidden below a grey level (dB)"
        " | faces whose edit reveals one | 25 dB reachable | region px |",
        "|---|---:|---:|---:|---|---:|",
    ]
    for e, g in zip(exact, grey, strict=True):
        ok = "yes" if min(e["ceiling"], g["ceiling"]) >= REGION_GOAL else "**no**"
        lines.append(
            f"| {e['attribute']} | {e['ceiling']:.1f} | {g['ceiling']:.1f} "
            f"| {g['faces_hiding']:.2f} | {ok} | {e['pixels']:.0f} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--faces", type=int, default=128)
    parser.add_argument("--samples", type=int, default=8)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    log = logger(LOG)
    t0 = time.time()
    log(
        f"generator_ceiling: {args.faces} held-out faces (seed {HELD_OUT_SEED}), "
        f"{args.samples} draws of the hidden parameters"
    )
    results = {}
    for label, tol in (("exactly", UNCHANGED), ("below a grey level", GREY_LEVEL)):
        rows, shares = measure(args.faces, args.samples, tol)
        log(
            f"hidden {label}, share of faces: "
            + ", ".join(f"{n} {s:.2f}" for n, s in shares.items())
        )
        worst = max(r["dropped"] for r in rows)
        log(f"hidden {label}: draws dropped (x changed) at most {worst:.3f} per attribute")
        results[label] = rows
    for line in table(results["exactly"], results["below a grey level"]).splitlines():
        log(line)
    log(f"generator_ceiling: done in {time.time() - t0:.0f} s")


if __name__ == "__main__":
    main()
