"""GPU check, section 3: torchrun with two ranks, NCCL on the GPU (gloo on the CPU).

- `collectives`: two ranks of `benchmarks/gpu/collectives.py` on ONE device: can NCCL put two
  ranks on one GPU at all? (gloo on the CPU in a dry run.)
- `torchrun_gloo`: `torchrun --nproc_per_node 2 -m sia_audit run` of the demo on the CPU; its
  report must equal the single-process `reference_cpu` of section 1 bit for bit (every rank
  uses the same number of CPU threads as that run, so the kernels are the same).
- `torchrun_nccl`: the same on CUDA (NCCL) against section 1's `device` run: bit for bit when
  CUDA was run-to-run bit-equal there (`device_repeat`), else within the `float` tolerance.
  The package gives each rank `cuda:LOCAL_RANK`, so with one GPU rank 1 asks for a device that
  does not exist; the run is made anyway and its outcome recorded.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from benchmarks import paths
from benchmarks.gpu.budget import Section, Skip
from benchmarks.gpu.compare import TOLERANCES, compare_reports, report_differences, summary

if TYPE_CHECKING:
    from benchmarks.gpu.check import Context

RANKS = 2


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env(threads: int, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "OMP_NUM_THREADS": str(threads),
        "PYTHONPATH": os.pathsep.join(
            filter(None, [str(paths.ROOT), os.environ.get("PYTHONPATH")])
        ),
        "NCCL_DEBUG": os.environ.get("NCCL_DEBUG", "WARN"),
        "PYTHONUNBUFFERED": "1",
        **extra,
    }


def _tail(path: Path, lines: int) -> list[str]:
    return path.read_text(errors="replace").strip().splitlines()[-lines:]


def run_processes(
    commands: list[tuple[list[str], dict[str, str]]], timeout: float, logs: Path
) -> list[dict[str, Any]]:
    """Start every (command, env) at once, wait for all until `timeout`, kill what is left.

    Each process gets its own process group (not a new session): killing it kills its children
    (torchrun's ranks), and the device machine's end-of-command cleanup still reaches them.
    Output goes to files in `logs` (two pipes read one after the other could block each other).
    """
    logs.mkdir(parents=True, exist_ok=True)
    procs: list[subprocess.Popen] = []
    try:
        for i, (command, env) in enumerate(commands):
            with (logs / f"{i}.out").open("w") as out, (logs / f"{i}.err").open("w") as err:
                procs.append(
                    subprocess.Popen(
                        command, cwd=paths.ROOT, env=env, stdout=out, stderr=err, process_group=0
                    )
                )
        deadline = time.monotonic() + timeout
        for proc in procs:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
    finally:  # also when the section's alarm interrupts the wait
        late = [p for p in procs if p.poll() is None]
        for proc in late:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    return [
        {
            "exit_code": None if proc in late else proc.returncode,
            "timed_out": proc in late,
            "stdout_tail": _tail(logs / f"{i}.out", 5),
            "stderr_tail": _tail(logs / f"{i}.err", 12),
        }
        for i, proc in enumerate(procs)
    ]


def torchrun(args: list[str], threads: int, timeout: float, logs: Path) -> dict[str, Any]:
    """`torchrun --nproc_per_node 2 ARGS`, as a user starts a distributed run."""
    command = [sys.executable, "-m", "torch.distributed.run", "--nnodes", "1"]
    command += ["--nproc_per_node", str(RANKS), "--master_addr", "127.0.0.1"]
    command += ["--master_port", str(free_port()), *args]
    (done,) = run_processes([(command, _env(threads))], timeout, logs)
    return {"command": " ".join(["torchrun", *command[3:]]), **done}


def collectives(backend: str, threads: int, timeout: float, work: Path) -> dict[str, Any]:
    """Two ranks of collectives.py on one device, started with torchrun's environment.

    Started directly rather than through torchrun: the question is NCCL's, not the launcher's
    (torchrun_* below use torchrun), and it saves a Python start in the dry run.
    """
    folder = work / f"collectives_{backend}"
    folder.mkdir(parents=True, exist_ok=True)
    port = str(free_port())
    script = [sys.executable, "-m", "benchmarks.gpu.collectives", backend, str(folder)]
    ranks_env = [
        _env(
            threads,
            RANK=str(r),
            LOCAL_RANK=str(r),
            WORLD_SIZE=str(RANKS),
            MASTER_ADDR="127.0.0.1",
            MASTER_PORT=port,
        )
        for r in range(RANKS)
    ]
    done = run_processes([(script, env) for env in ranks_env], timeout, folder / "logs")
    ranks = [json.loads(p.read_text()) for p in sorted(folder.glob("rank*.json"))]
    ok = len(ranks) == RANKS and all(r["ok"] for r in ranks)
    errors = sorted({r["error"] for r in ranks if "error" in r})
    return {
        "backend": backend,
        "ranks": ranks,
        "processes": done,
        "two_ranks_on_one_device": ok,
        "status": "ok" if ok else "failed",
        "note": f"{backend}: two ranks on one device "
        + ("work" if ok else f"fail ({errors[0] if errors else 'see processes'})"),
    }


def sharded_run(
    device: str,
    reference: dict[str, Any] | None,
    *,
    target: Path,
    policy: Path,
    out: Path,
    threads: int,
    timeout: float,
    exact: bool,
) -> dict[str, Any]:
    """The demo under torchrun on `device`, its report against the single-process one."""
    if reference is None:
        raise Skip("needs the single-process run of section 1, which did not finish")
    args = ["-m", "sia_audit", "run", str(target), "--policy", str(policy), "--device", device]
    args += ["--out", str(out), "--format", "json", "--quiet", "--dist-timeout", "60"]
    done = torchrun(args, threads, timeout, out.with_name(out.name + "_logs"))
    result: dict[str, Any] = {**done, "device": device, "criterion": "bit-equal"}
    if done["exit_code"] != 0:
        result.update(status="failed", note=f"torchrun exited {done['exit_code']}")
        return result
    sharded = json.loads((out / "report.json").read_text())
    differences = report_differences(reference, sharded)
    checks = summary(compare_reports(reference, sharded, TOLERANCES["float"]))
    ok = not differences if exact else checks["failed"] == 0
    result.update(
        ranks=sharded["provenance"]["ranks"],
        bit_equal=not differences,
        differences=differences,
        float_comparison=checks,
        criterion="bit-equal" if exact else "float tolerance (CUDA was not run-to-run bit-equal)",
        status="ok" if ok else "failed",
        note=f"{sharded['provenance']['ranks']} ranks; bit-equal: {not differences}",
    )
    return result


def run_section(section: Section, ctx: Context) -> None:
    cuda = ctx.device == "cuda"

    def timeout(cap: float) -> float:
        return max(1.0, min(cap, section.left() - 1))

    section.item(
        "collectives",
        lambda: collectives("nccl" if cuda else "gloo", ctx.threads, timeout(60), ctx.work),
        need=10,
    )
    common = dict(target=ctx.target, policy=ctx.policy, threads=ctx.threads)
    section.item(
        "torchrun_gloo",
        lambda: sharded_run(
            "cpu",
            ctx.reports.get("reference_cpu"),
            out=ctx.work / "torchrun_gloo",
            timeout=timeout(240),
            exact=True,
            **common,
        ),
        need=15,
    )

    def nccl() -> dict[str, Any]:
        if not cuda:
            raise Skip("NCCL needs CUDA: torchrun_gloo covers the same code path in a dry run")
        repeat = section.recorder.data["sections"].get("correctness", {}).get("items", {})
        exact = bool(repeat.get("device_repeat", {}).get("bit_equal"))
        return sharded_run(
            "cuda",
            ctx.reports.get("device"),
            out=ctx.work / "torchrun_nccl",
            timeout=timeout(120),
            exact=exact,
            **common,
        )

    section.item("torchrun_nccl", nccl, need=15)
