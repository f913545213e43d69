"""Shared helpers of the validity benchmarks: cached per-probe attacks, logs, settings.

SIA is independent per probe (no coupling between the images of a batch), so a large
pool is attacked once, chunk by chunk, through the audit's own batch loop
(`sia_audit.audit.audit_batches`), and every chunk's per-probe numbers are cached in
benchmarks/.cache/ (gitignored): an interrupted run resumes, and a rerun only recomputes the
statistics. Subsets of the pool are then formed from the cached numbers.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import platform
import shlex
import sys
import time
import warnings
from collections.abc import Sequence

import torch
from torch import Tensor

from benchmarks import paths
from scripts.training import Log, logger  # noqa: F401 - one timestamped log for all
from sia_audit.app.inputs import audit_config, generator_path
from sia_audit.audit import AuditConfig, attribute_radii, audit_batches
from sia_audit.generators.checkpoint import load_generator
from sia_audit.generators.interface import Generator
from sia_audit.policy.loading import load_policy
from sia_audit.probes.synthetic import SynthProbes
from sia_audit.targets.contract import Target
from sia_audit.targets.loading import load_target

POLICY = paths.ROOT / "policies" / "fairness.yaml"
BIASED = paths.ROOT / "examples" / "models" / "eyeglasses_biased.pt"
CONTROL = paths.ROOT / "examples" / "models" / "eyeglasses_control.pt"
MODELS = {"biased": BIASED, "control": CONTROL}
# The per-probe numbers a cache chunk keeps of each attack (those of the loop's BatchNumbers
# that the benchmarks read); the pixel attacks have no a0, a_T, *_recon or effects.
FIELDS = (
    "correct_clean",  # the target on x0
    "correct_start",  # on what the attack starts from: G(x0, a0), or x0 for a pixel attack
    "correct_adv",
    "psnr_x0",
    "ssim_x0",
    "a0",
    "a_T",
    "psnr_recon",
    "ssim_recon",
    "effects",
)


def log_header(log: Log, name: str) -> float:
    """Command line, date, machine and load at the start of a run; returns the start time."""
    cmd = " ".join(shlex.quote(a) for a in [".venv/bin/python", *sys.argv])
    load = ", ".join(f"{v:.2f}" for v in os.getloadavg())
    log(f"{name}: start; command: {cmd}")
    log(
        f"machine: {platform.machine()} {os.cpu_count()} cores, torch {torch.__version__}, "
        f"threads {torch.get_num_threads()}, load average (1/5/15 min) {load}"
    )
    return time.time()


def log_footer(log: Log, name: str, t0: float) -> None:
    load = ", ".join(f"{v:.2f}" for v in os.getloadavg())
    log(f"{name}: done, wall time {time.time() - t0:.0f} s; load average {load}")


def policy_config(**changes: object) -> AuditConfig:
    """The AuditConfig of policies/fairness.yaml on the CPU, with `changes` applied."""
    config = audit_config(load_policy(POLICY), "cpu", None)
    return dataclasses.replace(config, **changes)  # type: ignore[arg-type]


class Subset:
    """Probes `start:stop` of a probe set, as a probe set of their own (same names)."""

    def __init__(self, pool: SynthProbes, start: int, stop: int) -> None:
        self.pool, self.start, self.stop = pool, start, stop
        self.attr_names = pool.attr_names
        self.names = pool.names[start:stop]
        self.attrs = pool.attrs[start:stop]
        self.landmarks = None if pool.landmarks is None else pool.landmarks[start:stop]

    def __len__(self) -> int:
        return self.stop - self.start

    @property
    def output_size(self) -> tuple[int, int]:
        return self.pool.output_size

    def load_images(self, indices: Sequence[int]) -> Tensor:
        return self.pool.load_images([self.start + i for i in indices])

    def manifest_sha256(self) -> str:
        h = hashlib.sha256(self.pool.manifest_sha256().encode())
        h.update(f"{self.start}:{self.stop}".encode())
        return h.hexdigest()


def attack_names(config: AuditConfig, only: tuple[str, ...] | None = None) -> tuple[str, ...]:
    """The attacks a run makes: the main one and the baselines, or just `only`."""
    return only or config.attacks


def config_key(
    model: str, pool: SynthProbes, config: AuditConfig, only: tuple[str, ...] | None = None
) -> str:
    """A short hash naming a cache entry: model file, probe pool and attack settings."""
    spec: dict[str, object] = {
        "model": hashlib.sha256(MODELS[model].read_bytes()).hexdigest(),
        "pool": pool.manifest_sha256(),
        "attack": dataclasses.asdict(config.attack),
        "baselines": list(config.baselines),
        "effects": config.effects,
        "radii": dict(config.radii),
    }
    if only:
        spec["only"] = list(only)
    return hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:16]


def _load(model: str) -> tuple[Target, Generator]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch.jit's deprecation notice
        target = load_target(str(MODELS[model])).eval()
    generator = load_generator(generator_path(load_policy(POLICY).generator.source)).eval()
    return target, generator


def _chunk(
    model: str, probes: Subset, config: AuditConfig, only: tuple[str, ...] | None = None
) -> dict[str, dict[str, Tensor]]:
    """Per-probe numbers of every attack in `config` (or `only`) over one chunk of probes.

    The audit's own batch loop, without the gallery and single-attribute runs: only the
    per-probe numbers in FIELDS are kept, no report figure is computed.
    """
    target, generator = _load(model)
    loop = dataclasses.replace(config, gallery=0, single_attribute=False)
    batches = audit_batches(probes, generator, target, loop, attacks=attack_names(config, only))
    out: dict[str, dict[str, Tensor]] = {
        name: {
            f: torch.cat([b.attacks[name][f] for b in batches])
            for f in FIELDS
            if f in batches[0].attacks[name]
        }
        for name in batches[0].attacks
    }
    out["_meta"] = {"included": attribute_radii(generator, target, config.radii) > 0}
    return out


def attack_pool(
    model: str,
    pool: SynthProbes,
    config: AuditConfig,
    *,
    stop: int | None = None,
    chunk: int = 128,
    log: Log = print,
    cached_only: bool = False,
    only: tuple[str, ...] | None = None,
) -> dict[str, dict[str, Tensor]]:
    """Per-probe numbers of every attack in `config` on pool[:stop], cached chunk by chunk.

    With `cached_only`, nothing is attacked: the result covers the cached prefix of the pool
    (up to the first missing chunk), possibly no probe at all (an empty dict).

    Returns {attack name: {field: tensor over the probes}} plus "_meta" {"included": mask of
    the histogram's attributes}. Results do not depend on the chunking (per-probe
    independence), so a chunk is cached under its bounds and the settings' hash.
    """
    stop = len(pool) if stop is None else stop
    key = config_key(model, pool, config, only)
    folder = paths.CACHE / "validity_pool" / f"{model}-{key}"
    folder.mkdir(parents=True, exist_ok=True)
    settings = {
        "model": str(MODELS[model].relative_to(paths.ROOT)),
        "pool": repr(pool),
        "attack": dataclasses.asdict(config.attack),
        "baselines": list(config.baselines),
        "attacks": list(attack_names(config, only)),
        "effects": config.effects,
    }
    (folder / "settings.json").write_text(json.dumps(settings, indent=1))
    parts = []
    for start in range(0, stop, chunk):
        end = min(start + chunk, stop)
        path = folder / f"{start:06d}-{end:06d}.pt"
        if not path.exists() and cached_only:
            break
        if not path.exists():
            t0 = time.time()
            torch.save(_chunk(model, Subset(pool, start, end), config, only), path)
            dt = time.time() - t0
            log(
                f"{model} {'+'.join(attack_names(config, only))} "
                f"eps_x {config.attack.eps_x * 255:.1f}/255 probes {start}-{end}: {dt:.0f} s "
                f"({dt / (end - start):.2f} s/probe)"
            )
        parts.append(torch.load(path))
    if not parts:
        return {}
    merged = {
        name: {f: torch.cat([p[name][f] for p in parts]) for f in parts[0][name]}
        for name in parts[0]
        if name != "_meta"
    }
    return merged | {"_meta": parts[0]["_meta"]}


# The pools and settings of the validity benchmarks, shared so that every script hits the
# same cache entries.
# Seed 1, not the policy's 0: the probes that calibrated the policy's thresholds are not reused.
POOL_SEED = 1
POOL_COUNT = 2048
TABLE_PROBES = 256  # the paper-table runs use the first 256 probes of the same pool
EPS_GRID = (1.5 / 255, 2 / 255, 4 / 255)
ABLATION = ("attr", "image", "attr+partial-image", "image+partial-attr")


def pool() -> SynthProbes:
    return SynthProbes(count=POOL_COUNT, seed=POOL_SEED, size=64)


def stability_config() -> AuditConfig:
    """The policy's SIA with attribute effects; no pixel baselines (not needed for s)."""
    return policy_config(baselines=(), effects=True)


def table2_config(eps_x: float) -> AuditConfig:
    """Full SIA plus FGSM and PGD at one eps_x (the policy's steps and step sizes)."""
    base = policy_config(baselines=("fgsm", "pgd"), effects=False)
    return dataclasses.replace(base, attack=dataclasses.replace(base.attack, eps_x=eps_x))


PIXEL = ("fgsm", "pgd")


def table_runs(eps_x: float) -> list[tuple[AuditConfig, tuple[str, ...] | None]]:
    """The cached runs that make Table 2's row at eps_x: (config, only) pairs.

    At the policy's eps_x, SIA comes from the stability pool's first probes (same settings,
    with effects) and only the pixel baselines run anew; elsewhere one run makes all three.
    """
    if eps_x == EPS_GRID[0]:
        return [(stability_config(), None), (table2_config(eps_x), PIXEL)]
    return [(table2_config(eps_x), None)]


def table3_config(variant: str) -> AuditConfig:
    """One ablation variant at the policy's eps_x, alone."""
    base = policy_config(baselines=(), effects=False)
    return dataclasses.replace(base, attack=dataclasses.replace(base.attack, variant=variant))
