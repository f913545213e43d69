"""Each rank of a CUDA run needs a GPU of its own: a second rank on one GPU is refused in one
line (NCCL would refuse it too, with a traceback: "Duplicate GPU detected")."""

from __future__ import annotations

import pytest
import torch

from sia_audit.distributed import Ranks, rank_device
from sia_audit.errors import UsageError


def ranks(local_rank: int) -> Ranks:
    return Ranks(rank=local_rank, world=2, local_rank=local_rank)


@pytest.fixture
def one_gpu(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)


def test_each_local_rank_gets_its_own_gpu(one_gpu: None) -> None:
    assert rank_device("auto", ranks(0)) == "cuda:0"
    with pytest.raises(UsageError, match="local rank 1 has no GPU of its own: this machine has 1"):
        rank_device("cuda", ranks(1))


def test_the_cpu_takes_any_number_of_ranks() -> None:
    assert rank_device("cpu", ranks(5)) == "cpu"
