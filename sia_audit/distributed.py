"""Runs across processes and machines with torch.distributed: shard, agree, gather.

SIA is independent per probe, so a run shards the probe set's batches across ranks; rank 0
gathers every batch's numbers, measures and writes the one report, and the other ranks write
nothing. Started by `torchrun` (or anything that sets RANK, WORLD_SIZE, MASTER_ADDR and
MASTER_PORT); a plain start is a single process and none of this runs.

Failure is a clean exit 2, never a hang: every collective has a timeout, ranks agree after
loading (a bad input on any rank stops all of them before the attack), and a rank that dies
breaks its peers' next collective (gloo notices the closed connection at once, else after the
timeout).
"""

from __future__ import annotations

import contextlib
import datetime
import math
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sia_audit.errors import SiaAuditError, UsageError

DEFAULT_TIMEOUT = 1800.0  # seconds; a collective waits this long for the slowest rank


class DistributedError(SiaAuditError):
    """A rank failed, timed out or disagreed with the others: the run ends with no report."""


@dataclass(frozen=True)
class Ranks:
    """This process's place in a distributed run."""

    rank: int
    world: int
    local_rank: int

    @property
    def writer(self) -> bool:
        """Only rank 0 reads the output folder, prints the verdict and writes reports."""
        return self.rank == 0


def ranks_from_env(environ: dict[str, str] | None = None) -> Ranks | None:
    """The torchrun environment, or None for a single-process run (no WORLD_SIZE, or 1)."""
    env = os.environ if environ is None else environ
    if "WORLD_SIZE" not in env:
        return None
    try:
        world = int(env["WORLD_SIZE"])
        rank = int(env.get("RANK", "-1"))
        local = int(env.get("LOCAL_RANK", str(rank)))
    except ValueError:
        raise UsageError(
            "WORLD_SIZE, RANK and LOCAL_RANK must be integers; start ranks with torchrun"
        ) from None
    if world == 1:
        return None
    if world < 1 or not 0 <= rank < world or local < 0:
        raise UsageError(f"RANK={rank} is not in 0..{world - 1} (WORLD_SIZE={world})")
    for name in ("MASTER_ADDR", "MASTER_PORT"):
        if name not in env:
            raise UsageError(f"WORLD_SIZE={world} but {name} is not set; start ranks with torchrun")
    return Ranks(rank, world, local)


def rank_device(device: str, ranks: Ranks) -> str:
    """Each rank attacks on its own device: cuda:LOCAL_RANK when CUDA is used, else the CPU."""
    import torch

    if device == "cpu" or (device == "auto" and not torch.cuda.is_available()):
        return "cpu"
    if device in ("auto", "cuda"):
        gpus = torch.cuda.device_count()
        if ranks.local_rank >= gpus:
            # NCCL also refuses two ranks on one GPU ("Duplicate GPU detected"): one per GPU.
            raise UsageError(
                f"local rank {ranks.local_rank} has no GPU of its own: this machine has {gpus}; "
                f"start at most {gpus} processes per machine (torchrun --nproc_per_node {gpus}) "
                "or run the ranks on the CPU with --device cpu"
            )
        return f"cuda:{ranks.local_rank}"
    return device


class Session:
    """The process group of one run: agree, gather, and turn every failure into exit 2."""

    def __init__(self, ranks: Ranks, timeout: float) -> None:
        self.ranks = ranks
        self.timeout = timeout

    def agree(self, error: SiaAuditError | None) -> None:
        """Every rank says whether its inputs loaded; if any failed, all stop before attacking.

        The failing rank re-raises its own error; the others name the rank and its reason.
        """
        answers = self._all_gather(None if error is None else str(error))
        if error is not None:
            raise error
        for rank, message in enumerate(answers):
            if message is not None:
                raise DistributedError(f"rank {rank} could not start the run: {message}")

    def same_everywhere(self, what: str, value: Any) -> None:
        """Refuse a run whose ranks read different inputs (say, another policy on one machine)."""
        values = self._all_gather(value)
        for rank, other in enumerate(values):
            if other != values[0]:
                raise DistributedError(
                    f"rank {rank} has a different {what} than rank 0 ({other} vs {values[0]}); "
                    "give every rank the same inputs"
                )

    def gather(self, part: Any) -> list[Any] | None:
        """Every rank's part on rank 0 (in rank order); None on the other ranks."""
        import torch.distributed as dist

        parts: list[Any] | None = [None] * self.ranks.world if self.ranks.writer else None
        with self._failures("gathering results"):
            dist.gather_object(part, parts, dst=0)
        return parts

    def _all_gather(self, value: Any) -> list[Any]:
        import torch.distributed as dist

        values: list[Any] = [None] * self.ranks.world
        with self._failures("agreeing on the inputs"):
            dist.all_gather_object(values, value)
        return values

    @contextlib.contextmanager
    def _failures(self, doing: str) -> Iterator[None]:
        try:
            yield
        except (RuntimeError, ValueError, ConnectionError) as exc:
            raise DistributedError(
                f"rank {self.ranks.rank}: another rank failed or timed out "
                f"(limit {self.timeout:g} s) while {doing}: {_reason(exc)}; no report written"
            ) from None


def _reason(exc: BaseException) -> str:
    """The first sentence of a backend error, without gloo's source location prefix."""
    text = str(exc).strip()
    first = text.splitlines()[0] if text else type(exc).__name__
    first = re.sub(r"^\[[^\]]*\]\s*", "", first)
    return first.split(". ")[0].rstrip(".")[:160]


@contextlib.contextmanager
def session(ranks: Ranks, device: str, timeout: float) -> Iterator[Session]:
    """Join the process group (NCCL on CUDA, gloo on CPU) for the run, and leave it after."""
    import torch
    import torch.distributed as dist

    if not (math.isfinite(timeout) and timeout > 0):
        raise UsageError(f"--dist-timeout must be a positive number of seconds, got {timeout}")
    use_cuda = rank_device(device, ranks).startswith("cuda")
    if use_cuda:
        torch.cuda.set_device(ranks.local_rank)
    try:
        dist.init_process_group(
            backend="nccl" if use_cuda else "gloo",
            timeout=datetime.timedelta(seconds=timeout),
        )
    except (RuntimeError, ValueError, ConnectionError) as exc:
        raise DistributedError(
            f"rank {ranks.rank} could not join the other {ranks.world - 1} rank(s) within "
            f"{timeout:g} s: {_reason(exc)}"
        ) from None
    try:
        yield Session(ranks, timeout)
    finally:
        # A group whose peer died cannot be torn down collectively; abort it locally.
        with contextlib.suppress(Exception):  # leaving is best effort; the verdict is made
            dist.destroy_process_group()
