"""Export SIA adversaries as a CelebA-format dataset for adversarial training (paper 4.4-4.5).

`generate(request)` attacks a policy's probe set with SIA (variant `full`, the policy's steps,
etas and radii) batch by batch and writes, into a new folder, what a training script mixes into
its data: the adversaries G(x_T, a_T) as PNG at the generator's size, a_T as the continuous
side file and its -1/1 binarisation (the same files `sia-audit synth` writes, read back by
`CelebAProbes`), the label each probe carries for the target's task, an 80/10/10 split in
contiguous blocks, and a provenance JSON naming every image's source probe. The folder appears
only complete (fsutil.atomic_dir); the same inputs give the same bytes.
"""

from __future__ import annotations

import dataclasses
import json
import platform
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

import sia_audit
from sia_audit.app.inputs import load
from sia_audit.attacks.engine import AttackBatch
from sia_audit.audit import AuditConfig, Progress, Setup, attack_batches, setup
from sia_audit.errors import DataError, UsageError
from sia_audit.fsutil import atomic_dir, atomic_write_text, check_new_dir, check_writable_folder
from sia_audit.policy import load_policy
from sia_audit.policy.models import Policy
from sia_audit.probes.celeba import CelebAProbes, Preprocess
from sia_audit.probes.celeba_files import LANDMARK_FILE, NAME_DIGITS, SPLITS
from sia_audit.probes.celeba_writer import CelebAWriter
from sia_audit.probes.interface import ProbeSet
from sia_audit.probes.selection import Selection, matching, parse_where
from sia_audit.probes.synthetic import SynthProbes
from sia_audit.probes.synthfaces.dataset import partition_of
from sia_audit.sources import SYNTHFACES
from sia_audit.targets.contract import Target

FORMAT = "sia-audit-adversaries"
FORMAT_VERSION = 1
PROVENANCE_FILE = "sia_adversaries.json"
LABELS_FILE = "list_target_labels.txt"
VARIANT = "full"  # generate always runs SIA proper: both spaces, all T steps
_SPLIT_NAMES = {v: k for k, v in SPLITS.items()}
MAX_IMAGES = 10**NAME_DIGITS - 1  # 000001.png ... 999999.png


@dataclass(frozen=True)
class GenerateRequest:
    """What `sia-audit generate` was asked for; `count`/`batch_size` None mean the policy's."""

    target: str
    policy_path: Path
    out: Path
    count: int | None = None
    device: str = "auto"
    batch_size: int | None = None
    allow_code: bool = False
    source: Path | None = None  # a CelebA-format folder to take the images from
    split: str | None = None  # of `source`: train, val or test (default: every image)
    where: tuple[str, ...] = ()  # ATTR=1 / ATTR=0: only the images that match
    per_image: int = 1  # adversaries per chosen image (the others from random starts)


@dataclass(frozen=True)
class GenerateSummary:
    """What was written: counts for the one line the command prints."""

    out: Path
    count: int
    right_on_x0: int  # probes the target classifies correctly before the attack
    flipped: int  # of those, the ones whose adversary it gets wrong
    splits: tuple[int, int, int]  # train, val, test
    seconds: float


@dataclass(frozen=True)
class AdversaryRecord:
    """One written image: where it came from and what the attack did to the target's answer.

    `flipped` follows the audit's attack success rate: right on the clean probe x0, wrong on
    the adversary. `flipped_as_saved` scores the adversary as stored (rounded to 8 bits).
    """

    file: str
    probe: str
    split: str
    label: int | None  # binary targets: 0/1; keypoint targets: in the landmarks file
    correct_clean: bool
    correct_reconstruction: bool
    correct_adversary: bool
    flipped: bool
    flipped_as_saved: bool
    loss_reconstruction: float
    loss_adversary: float
    repeat: int = 0  # 0: SIA from the probe itself; r > 0: from a random start of seed r


@dataclass(frozen=True)
class _Inputs:
    """Everything loaded and checked before the first attack step."""

    policy: Policy
    config: AuditConfig  # SIA proper (`full`), no baselines
    env: Setup  # the models on their device, the labels and the attribute radii
    probes: ProbeSet
    hashes: dict[str, str]
    # The probes' landmarks when the target's task says they are its labels (keypoint tasks:
    # they go to the landmarks file); None otherwise, and the labels go to LABELS_FILE.
    landmarks: Tensor | None

    @property
    def labels_file(self) -> str:
        return LABELS_FILE if self.landmarks is None else LANDMARK_FILE

    @property
    def target(self) -> Target:
        return self.env.target


def check_numbers(count: int | None, batch_size: int | None, per_image: int = 1) -> None:
    """Refuse a count, batch size or --per-image below 1, or more images than CelebA's 6-digit
    names allow, with one line (before anything is loaded)."""
    for flag, value in (
        ("--count", count),
        ("--batch-size", batch_size),
        ("--per-image", per_image),
    ):
        if value is not None and value < 1:
            raise UsageError(f"{flag} must be at least 1, got {value}")
    if count is not None and count * per_image > MAX_IMAGES:
        raise UsageError(
            f"--count {count} x --per-image {per_image} is more images than a CelebA-format "
            f"folder holds; use at most {MAX_IMAGES}"
        )


def with_count(policy: Policy, count: int | None) -> Policy:
    """The policy with probes.count replaced (a CelebA folder then takes its first `count`)."""
    if count is None:
        return policy
    return policy.model_copy(update={"probes": policy.probes.model_copy(update={"count": count})})


def generate(
    request: GenerateRequest,
    progress: Progress | None = None,
    start: Callable[[int], None] | None = None,
) -> GenerateSummary:
    """Attack the policy's probes with SIA and write the adversaries to the new folder `out`.

    Every input is loaded and checked before the first attack step and before anything is
    written; on any error nothing is left at `out`.
    """
    t0 = time.perf_counter()
    check_numbers(request.count, request.batch_size, request.per_image)
    check_new_dir(request.out)
    check_writable_folder(request.out)
    inputs = _load(request)
    if start is not None:  # the number of adversaries is known once the images are chosen
        start(len(inputs.probes) * request.per_image)
    with atomic_dir(request.out) as tmp:
        records = _attack_and_write(tmp, inputs, progress, request.per_image)
        if inputs.landmarks is None:  # otherwise the landmarks file holds the labels
            _write_labels(tmp / LABELS_FILE, inputs.target, records)
        provenance = _provenance(request, inputs, records)
        atomic_write_text(tmp / PROVENANCE_FILE, json.dumps(provenance, indent=2) + "\n")
    train, val, test = (sum(r.split == s for r in records) for s in SPLITS)
    return GenerateSummary(
        out=request.out,
        count=len(records),
        right_on_x0=sum(r.correct_clean for r in records),
        flipped=sum(r.flipped for r in records),
        splits=(train, val, test),
        seconds=time.perf_counter() - t0,
    )


def _load(request: GenerateRequest) -> _Inputs:
    """Policy, target, generator and the chosen images, checked against each other (a
    mismatch is exit 2): the policy's probes or the `source` folder's images, filtered by
    `where`."""
    policy = load_policy(request.policy_path)
    first_n = request.count if not request.where else None  # --where: N after filtering
    if first_n is not None:
        policy = with_count(policy, first_n)
    if request.split is not None and request.source is None:
        raise UsageError("--split chooses a split of --source; give --source, or set the policy")
    loaded = load(
        request.target,
        policy,
        request.policy_path,
        device=request.device,
        batch_size=request.batch_size,
        allow_code=request.allow_code,
    )
    names = loaded.generator.attr_names
    where = parse_where(request.where, names)
    pool: ProbeSet = loaded.probes
    if request.source is not None:
        p = policy.probes
        pool = CelebAProbes(
            request.source,
            names,
            split=request.split,
            first_n=first_n,
            preprocess=Preprocess(p.center_crop, p.size),
        )
    filters = " and ".join(request.where)
    if request.count is not None and where:
        pool, chosen = _first_matching(pool, policy, request, names, where)
        if len(chosen) < request.count:
            some = f"only {len(chosen)}" if chosen else "no image"
            raise DataError(
                f"{some} of the {len(pool)} images {'match' if chosen else 'matches'} "
                f"--where {filters}, and --count asks for {request.count}; ask for fewer, "
                "loosen the filters or give a larger --source or --split"
            )
    else:
        chosen = matching(pool, where)
    if not chosen:
        raise DataError(
            f"no image of the {len(pool)} matches --where {filters}; loosen the filters or "
            "take more images (--count, or another --split)"
        )
    probes = Selection(pool, chosen) if len(chosen) < len(pool) else pool
    attack = dataclasses.replace(loaded.config.attack, variant=VARIANT)
    config = dataclasses.replace(loaded.config, attack=attack, baselines=(), effects=False)
    env = setup(probes, loaded.generator, loaded.target, config)
    hashes = {**loaded.inputs(), "probe_manifest_sha256": probes.manifest_sha256()}
    landmarks = env.target.task.exported_landmarks(probes)
    return _Inputs(policy, config, env, probes, hashes, landmarks)


SYNTH_POOL_GROWTH = 64  # synthfaces: draw up to this many faces per asked image to filter


def _first_matching(
    pool: ProbeSet,
    policy: Policy,
    request: GenerateRequest,
    names: Sequence[str],
    where: Sequence[tuple[str, bool]],
) -> tuple[ProbeSet, list[int]]:
    """`--count N --where ...`: the first N images that match, not the matches among the first
    N. A folder (--source, or the policy's) is read whole; synthfaces are drawn in pools of
    N, 2N, 4N, ... faces (each pool its own seeded draw) until N match or the pool reaches
    SYNTH_POOL_GROWTH x N."""
    count = request.count
    assert count is not None
    p = policy.probes
    if request.source is None and p.source != SYNTHFACES:  # the policy's folder, read whole
        pool = CelebAProbes(
            Path(p.source), names, split=p.split, preprocess=Preprocess(p.center_crop, p.size)
        )
    if request.source is not None or p.source != SYNTHFACES:
        return pool, matching(pool, where)[:count]
    size = count
    while True:
        pool = SynthProbes(count=size, seed=p.seed, size=p.size)
        chosen = matching(pool, where)[:count]
        if len(chosen) == count or size >= min(SYNTH_POOL_GROWTH * count, MAX_IMAGES):
            return pool, chosen
        size = min(2 * size, SYNTH_POOL_GROWTH * count, MAX_IMAGES)


def to_uint8(images: Tensor) -> np.ndarray:
    """(B, 3, H, W) in [0, 1] -> (B, H, W, 3) uint8, rounded: the bytes a PNG stores."""
    scaled = (images.detach().float().clamp(0, 1) * 255).round().to(torch.uint8)
    return scaled.permute(0, 2, 3, 1).cpu().numpy()


def _attack_and_write(
    tmp: Path, inputs: _Inputs, progress: Progress | None, per_image: int = 1
) -> list[AdversaryRecord]:
    """SIA batch by batch; each batch's adversaries go to disk at once (memory: one batch).

    With `per_image` > 1 the chosen images are attacked again, round r from a random start
    of seed r; every adversary of an image keeps that image's split (no image in two splits).
    """
    probes, env = inputs.probes, inputs.env
    target, task = env.target, env.target.task
    landmarks = inputs.landmarks  # only the target's own labels (task.exported_landmarks)
    partition = partition_of(len(probes)).numpy()
    records: list[AdversaryRecord] = []
    with CelebAWriter(
        tmp, env.generator.attr_names, with_landmarks=landmarks is not None
    ) as writer:
        for repeat in range(per_image):
            attack = dataclasses.replace(inputs.config.attack, random_start=repeat > 0, seed=repeat)
            config = dataclasses.replace(inputs.config, attack=attack)
            for b in attack_batches(probes, env.generator, target, config, (VARIANT,), env=env):
                r = b.results[VARIANT]
                images = to_uint8(r.adversary)
                with torch.no_grad():
                    saved = torch.from_numpy(images).permute(0, 3, 1, 2).float().div(255)
                    correct_saved = task.correct(target(saved.to(env.device)), b.y).cpu()
                assert r.a_T is not None
                idx = b.indices
                files = writer.add(
                    images,
                    r.a_T.double().cpu().numpy(),
                    partition[idx],
                    landmarks=None if landmarks is None else landmarks[idx].numpy(),
                )
                correct = (b.clean["correct_clean"].cpu(), correct_saved)
                records += _records(files, probes, idx, partition, b.y, r, *correct, repeat)
                if progress is not None:
                    progress("attack", len(idx))
    return records


def _records(
    files: Sequence[str],
    probes: ProbeSet,
    idx: Sequence[int],
    partition: np.ndarray,
    y: Tensor,
    r: AttackBatch,
    correct_clean: Tensor,
    correct_saved: Tensor,
    repeat: int = 0,
) -> list[AdversaryRecord]:
    """One provenance row per written image: where it came from and what the attack did."""
    rows = []
    binary = y.dim() == 1
    for b, (file, i) in enumerate(zip(files, idx, strict=True)):
        clean, adv = bool(correct_clean[b]), bool(r.correct_adv[b])
        rows.append(
            AdversaryRecord(
                file=file,
                probe=probes.names[i],
                split=_SPLIT_NAMES[int(partition[i])],
                label=int(y[b]) if binary else None,
                correct_clean=clean,
                correct_reconstruction=bool(r.correct_start[b]),
                correct_adversary=adv,
                flipped=clean and not adv,
                flipped_as_saved=clean and not bool(correct_saved[b]),
                loss_reconstruction=round(float(r.loss_start[b]), 6),
                loss_adversary=round(float(r.loss_adv[b]), 6),
                repeat=repeat,
            )
        )
    return rows


def _write_labels(path: Path, target: Target, records: Sequence[AdversaryRecord]) -> None:
    """The target labels in CelebA's own layout: count, header, one `file label` row each
    (binary: -1/1 under the attribute's name; multiclass: the class index under `class`)."""
    task = target.task
    rows = [str(len(records)), str(target.contract.label or "class")]
    rows += [f"{r.file} {task.label_text(r.label if r.label is not None else 0)}" for r in records]
    atomic_write_text(path, "".join(row + "\n" for row in rows))


def read_labels(folder: Path) -> dict[str, int]:
    """The labels `generate` wrote, file name -> 0/1 for binary (what a BCE loss wants) or
    the class index for multiclass."""
    path = Path(folder) / LABELS_FILE
    try:
        lines = path.read_text(encoding="utf-8").split("\n")
    except OSError as exc:
        raise DataError(
            f"{path}: cannot be read ({exc.strerror}); give a folder written by generate"
        ) from exc
    rows = [line.split() for line in lines[2:] if line.strip()]
    if (
        any(len(r) != 2 or not r[1].lstrip("-").isdigit() for r in rows)
        or str(len(rows)) != lines[0]
    ):
        raise DataError(f"{path}: not a label file written by generate; regenerate the folder")
    return {name: max(int(value), 0) for name, value in rows}


def _provenance(
    request: GenerateRequest, inputs: _Inputs, records: Sequence[AdversaryRecord]
) -> dict[str, Any]:
    """The JSON beside the images: inputs by hash, the attack, and one row per image."""
    c = inputs.target.contract
    p = inputs.policy.probes
    eps = inputs.env.eps_a.cpu().tolist()
    names = inputs.env.generator.attr_names
    files = {
        "images": "img_align_celeba/",
        "attributes_binary": "list_attr_celeba.txt",
        "attributes_continuous": "list_attr_continuous.txt",
        "partition": "list_eval_partition.txt",
    }
    files["labels"] = inputs.labels_file
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "tool_version": sia_audit.__version__,
        "torch_version": torch.__version__,
        "python_version": platform.python_version(),
        "command": {
            "target": request.target,
            "policy": str(request.policy_path),
            "count": request.count,
            "device": request.device,
            "batch_size": request.batch_size,
            "source": None if request.source is None else str(request.source),
            "split": request.split,
            "where": list(request.where),
            "per_image": request.per_image,
        },
        "inputs": inputs.hashes,
        "probes": {
            "source": p.source if request.source is None else str(request.source),
            "count": len(inputs.probes),
            "seed": p.seed,
            "split": p.split,
            "size": p.size,
            "manifest_sha256": inputs.hashes["probe_manifest_sha256"],
        },
        # The labels are what the attack ascended against: each probe's own (from a0), never
        # re-derived from a_T (a binary target's attribute is frozen unless the policy says so).
        "target_task": {"task": c.task, "label": c.label, "labels_from": "a0"},
        "attack": dataclasses.asdict(inputs.config.attack),
        "policy_variant": inputs.policy.attack.variant,
        "attribute_radii": dict(zip(names, eps, strict=True)),
        "frozen": [n for n, e in zip(names, eps, strict=True) if e == 0],
        "device": str(inputs.env.device),
        "batch_size": inputs.config.batch_size,
        "files": files,
        "precision": "a_T is stored with 3 decimals; -1/1 is 1 exactly when the stored value "
        ">= 0.5; images are the adversaries rounded to 8 bits",
        "repeats": "repeat 0 attacks each image from itself; repeat r > 0 from a random start "
        "(x within eps_x, each attribute within 0.25 of a0) drawn from seed r",
        "summary": {
            "images": len(records),
            "right_on_x0": sum(r.correct_clean for r in records),
            "flipped": sum(r.flipped for r in records),
            "flipped_as_saved": sum(r.flipped_as_saved for r in records),
            "splits": {s: sum(r.split == s for r in records) for s in SPLITS},
        },
        "images": [dataclasses.asdict(r) for r in records],
    }
