"""`sia-audit train-generator`: train an AttGAN generator, paired on synthfaces or unpaired."""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Mapping
from pathlib import Path

import click

from sia_audit.errors import UsageError
from sia_audit.generators.region_metrics import REGION_METRICS
from sia_audit.probes.celeba_files import ATTR_FILE
from sia_audit.probes.synthfaces.attributes import ATTRIBUTES
from sia_audit.sources import SYNTHFACES, is_builtin

MODES = ("paired", "unpaired")


def _resolve_mode(data: str, mode: str | None) -> str:
    if is_builtin(data, kind="built-in data", otherwise="a CelebA folder"):
        if mode == "unpaired":
            raise UsageError(
                f"{SYNTHFACES} trains in paired mode only; export it with `sia-audit synth` "
                "to train unpaired on a folder"
            )
        return "paired"
    folder = Path(data)
    if not (folder / ATTR_FILE).is_file():
        raise UsageError(
            f"DATA {data!r} is neither {SYNTHFACES} nor a CelebA-format folder with {ATTR_FILE}; "
            "pass one of those"
        )
    if mode == "paired":
        raise UsageError(
            f"paired mode needs the renderer's true edits; use DATA {SYNTHFACES} or --mode unpaired"
        )
    return "unpaired"


def _attr_names(data: Path, attrs: str | None) -> tuple[str, ...]:
    from sia_audit.generators.training.unpaired import header_attributes  # torch

    header = header_attributes(data)
    wanted = tuple(a.strip() for a in attrs.split(",") if a.strip()) if attrs else ATTRIBUTES
    missing = [a for a in wanted if a not in header]
    if missing:
        raise UsageError(
            f"{data / ATTR_FILE} lacks attributes {', '.join(missing)}; pick names from its "
            "header with --attrs A,B,..."
        )
    return wanted


def _edit_weights(pairs: tuple[str, ...]) -> tuple[float, ...]:
    """--edit-weight NAME=W pairs as PairedConfig.edit_weights (unnamed attributes weigh 1)."""
    if not pairs:
        return ()
    named: dict[str, float] = {}
    for text in pairs:
        name, sep, value = text.partition("=")
        try:
            weight = float(value) if sep else float("nan")
        except ValueError:
            weight = float("nan")
        if not weight >= 0 or weight == float("inf"):
            raise UsageError(f"--edit-weight {text!r}: expected NAME=W with W a number >= 0")
        if name not in ATTRIBUTES:
            raise UsageError(
                f"--edit-weight {text!r}: {name!r} is not a synthfaces attribute "
                f"({', '.join(ATTRIBUTES)})"
            )
        named[name] = weight
    return tuple(named.get(name, 1.0) for name in ATTRIBUTES)


@click.command("train-generator")
@click.argument("data")
@click.option(
    "--out",
    "-o",
    type=click.Path(path_type=Path),
    required=True,
    help="Final checkpoint file (its training state goes next to it, *.state.pt).",
)
@click.option(
    "--mode",
    type=click.Choice(MODES),
    help="paired (builtin:synthfaces, default there) or unpaired (CelebA folders).",
)
@click.option(
    "--steps",
    type=click.IntRange(min=1),
    default=2000,
    show_default=True,
    help="Generator updates.",
)
@click.option("--batch-size", type=click.IntRange(min=1), default=32, show_default=True)
@click.option(
    "--seed",
    type=int,
    default=0,
    show_default=True,
    help="Same seed, steps and options -> same weights (on CPU).",
)
@click.option(
    "--lr",
    type=click.FloatRange(min=0, min_open=True),
    help="Learning rate [paired 1e-3, unpaired 2e-4].",
)
@click.option(
    "--resume",
    is_flag=True,
    help="Continue from the training state next to --out (same options required).",
)
@click.option(
    "--checkpoint-every",
    type=click.IntRange(min=0),
    default=500,
    show_default=True,
    help="Save the training state every N steps (0: only at the end).",
)
@click.option(
    "--size",
    type=click.IntRange(min=8),
    default=64,
    show_default=True,
    help="Image side in pixels.",
)
@click.option("--enc-dim", type=click.IntRange(min=1), default=32, show_default=True)
@click.option("--dec-dim", type=click.IntRange(min=1), default=32, show_default=True)
@click.option(
    "--layers",
    type=click.IntRange(min=2),
    default=4,
    show_default=True,
    help="Encoder layers = decoder layers.",
)
@click.option("--shortcut-layers", type=click.IntRange(min=0), default=1, show_default=True)
@click.option("--inject-layers", type=click.IntRange(min=0), default=1, show_default=True)
@click.option(
    "--adversarial",
    type=click.FloatRange(min=0),
    default=0.0,
    show_default=True,
    help="Paired: weight of an optional WGAN-GP critic on the edits (0: L1 only).",
)
@click.option(
    "--region-weight",
    type=click.FloatRange(min=0),
    default=0.0,
    show_default=True,
    help="Paired: weight of the L1 inside each edit's own pixels (shipped: 1, its fine-tune 4).",
)
@click.option(
    "--region-metric",
    type=click.Choice(REGION_METRICS),
    default="l1",
    show_default=True,
    help="Paired: the region term's error; rms is the squared error a region PSNR scores.",
)
@click.option(
    "--edge-weight",
    type=click.FloatRange(min=0),
    default=0.0,
    show_default=True,
    help="Paired: weight of the L1 of the edit error's pixel differences in that region.",
)
@click.option(
    "--edit-weight",
    "edit_weights",
    multiple=True,
    metavar="NAME=W",
    help="Paired, repeatable: how often NAME is the attribute a single edit changes, "
    "relative to 1 for the others (more practice for the edits G draws worst).",
)
@click.option(
    "--init-from",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Paired: fine-tune this checkpoint's generator (same architecture options).",
)
@click.option("--attrs", help="Unpaired: comma-separated attribute names [the 15 paper ones].")
@click.option(
    "--center-crop",
    type=click.IntRange(min=0),
    default=170,
    show_default=True,
    help="Unpaired: centre crop before resizing (0: none).",
)
@click.option(
    "--dis-dim",
    type=click.IntRange(min=1),
    default=64,
    show_default=True,
    help="Critic width (unpaired, or paired with --adversarial).",
)
@click.option("--dis-fc-dim", type=click.IntRange(min=1), default=1024, show_default=True)
@click.option(
    "--dis-layers",
    type=click.IntRange(min=1),
    default=5,
    show_default=True,
    help="Critic depth; --size must be divisible by 2^N.",
)
def train_generator(
    data: str,
    out: Path,
    mode: str | None,
    steps: int,
    batch_size: int,
    seed: int,
    lr: float | None,
    resume: bool,
    checkpoint_every: int,
    size: int,
    enc_dim: int,
    dec_dim: int,
    layers: int,
    shortcut_layers: int,
    inject_layers: int,
    adversarial: float,
    region_weight: float,
    region_metric: str,
    edge_weight: float,
    edit_weights: tuple[str, ...],
    init_from: Path | None,
    attrs: str | None,
    center_crop: int,
    dis_dim: int,
    dis_fc_dim: int,
    dis_layers: int,
) -> None:
    """Train an AttGAN generator on DATA and write a one-file checkpoint to --out.

    DATA is builtin:synthfaces (paired: the renderer draws the true edit, loss L1) or a
    CelebA-format folder (unpaired: AttGAN's WGAN-GP + classification + reconstruction).
    """
    # torch: imported when training runs, not for --help
    from sia_audit.generators.checkpoint import save_checkpoint
    from sia_audit.generators.training import (
        ArchConfig,
        PairedConfig,
        TrainResult,
        UnpairedConfig,
        state_path_for,
        train_paired,
        train_unpaired,
    )
    from sia_audit.generators.training.paired import check_init_from

    mode = _resolve_mode(data, mode)
    if mode == "unpaired":
        given = [
            flag
            for flag, value in (
                ("--region-weight", region_weight),
                ("--region-metric", region_metric != "l1"),
                ("--edge-weight", edge_weight),
                ("--edit-weight", edit_weights),
                ("--init-from", init_from),
            )
            if value
        ]
        if given:
            raise UsageError(f"{', '.join(given)} apply to paired mode (builtin:synthfaces) only")
    if region_metric != "l1" and not region_weight:
        raise UsageError(f"--region-metric {region_metric} has no effect without --region-weight")
    weights = _edit_weights(edit_weights)
    if init_from is not None and not init_from.is_file():
        raise UsageError(f"--init-from {init_from}: no such checkpoint file")
    if out.is_dir():
        raise UsageError(f"--out {out} is a folder; give a checkpoint file path such as g.pt")
    arch = ArchConfig(
        img_size=size,
        enc_dim=enc_dim,
        dec_dim=dec_dim,
        layers=layers,
        shortcut_layers=shortcut_layers,
        inject_layers=inject_layers,
    )
    if size % 2**layers:
        raise UsageError(f"--size {size} is not divisible by 2^layers={2**layers}; change one")
    if (mode == "unpaired" or adversarial > 0) and size % 2**dis_layers:
        raise UsageError(
            f"--size {size} is not divisible by 2^dis-layers={2**dis_layers}; lower --dis-layers"
        )
    state_path = state_path_for(out)
    if not resume and state_path.exists():
        raise UsageError(
            f"{state_path} holds an earlier run's state; pass --resume to continue it, or "
            "delete it to start afresh"
        )
    config = (
        PairedConfig(
            steps=steps,
            batch_size=batch_size,
            seed=seed,
            lr=lr if lr is not None else 1e-3,
            lambda_adv=adversarial,
            lambda_region=region_weight,
            region_metric=region_metric,
            lambda_edge=edge_weight,
            edit_weights=weights,
            init_from=str(init_from) if init_from is not None else "",
            dis_dim=dis_dim,
            dis_fc_dim=dis_fc_dim,
            dis_layers=dis_layers,
            arch=arch,
        )
        if mode == "paired"
        else None
    )
    if config is not None:
        check_init_from(config)  # a bad start fails here, not under the progress bar
    bar = click.progressbar(
        length=steps, label="training", file=sys.stderr, item_show_func=lambda s: s
    )
    with bar:

        def progress(step: int, total: int, losses: Mapping[str, float]) -> None:
            shown = " ".join(f"{k} {v:.4f}" for k, v in losses.items() if k not in ("lr", "sec"))
            bar.update(step - bar.pos, shown)

        result: TrainResult
        if config is not None:
            result = train_paired(
                config,
                state_path=state_path,
                checkpoint_every=checkpoint_every,
                resume=resume,
                progress=progress,
            )
        else:
            folder = Path(data)
            uconfig = UnpairedConfig(
                data=str(folder.resolve()),
                attr_names=_attr_names(folder, attrs),
                steps=steps,
                batch_size=batch_size,
                seed=seed,
                lr=lr if lr is not None else 2e-4,
                center_crop=center_crop or None,
                dis_dim=dis_dim,
                dis_fc_dim=dis_fc_dim,
                dis_layers=dis_layers,
                arch=arch,
            )
            result = train_unpaired(
                uconfig,
                state_path=state_path,
                checkpoint_every=checkpoint_every,
                resume=resume,
                progress=progress,
            )
    prov = {**result.provenance, "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")}
    save_checkpoint(out, result.generator, prov)
    click.echo(f"wrote {out} ({mode}, {result.steps_done} steps, seed {seed})")
