"""One rank of the GPU check's collectives probe: do two ranks work on one device?

Two of these run, with torchrun's environment (RANK, WORLD_SIZE, MASTER_*). With `nccl` both
ranks take GPU 0 (the question is whether NCCL lets two ranks share one GPU); with `gloo` both
run on the CPU (the dry run). Each rank writes what happened to FOLDER/rankN.json; NCCL may also
abort the process instead, leaving none.
By hand, from the repository root:
    PYTHONPATH=. python -m torch.distributed.run --nproc_per_node 2 -m benchmarks.gpu.collectives \\
        nccl DIR
"""

from __future__ import annotations

import datetime
import json
import os
import sys
from pathlib import Path

import torch
import torch.distributed as dist


def probe(backend: str) -> dict[str, object]:
    rank, world = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
    result: dict[str, object] = {"rank": rank, "backend": backend, "ok": False}
    try:
        device = torch.device("cpu")
        if backend == "nccl":
            torch.cuda.set_device(0)
            device = torch.device("cuda", 0)
            result["nccl_version"] = ".".join(map(str, torch.cuda.nccl.version()))
        dist.init_process_group(backend, timeout=datetime.timedelta(seconds=30))
        t = torch.full((4,), float(rank + 1), device=device)
        dist.all_reduce(t)
        gathered: list[object] = [None] * world
        dist.all_gather_object(gathered, rank)  # what the package's Session uses
        dist.barrier()
        result.update(
            all_reduce=float(t[0]),
            gathered=gathered,
            ok=float(t[0]) == world * (world + 1) / 2 and gathered == list(range(world)),
        )
    except Exception as exc:  # the probe reports every failure as data
        lines = str(exc).strip().splitlines()
        result["error"] = f"{type(exc).__name__}: {lines[0][:300] if lines else ''}"
    finally:
        if dist.is_initialized():
            dist.destroy_process_group()
    return result


def main() -> int:
    backend, folder = sys.argv[1], Path(sys.argv[2])
    result = probe(backend)
    (folder / f"rank{result['rank']}.json").write_text(json.dumps(result), encoding="utf-8")
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
