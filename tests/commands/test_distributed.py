"""`run` under torch.distributed (gloo, 2 ranks on CPU): same figures, one report, clean failure.

The ranks are real processes: one test starts them with torchrun, as the README says, and the
others set the torchrun environment themselves, as two machines would, so a test can kill one.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

from sia_audit.audit import plan_batches
from sia_audit.cli import cli
from sia_audit.distributed import ranks_from_env
from sia_audit.errors import UsageError
from sia_audit.probes.synthetic import SynthProbes

ROOT = Path(__file__).resolve().parents[2]
TARGET = str(ROOT / "examples" / "models" / "eyeglasses_control.pt")
# 10 probes in batches of 4: rank 0 attacks batches 0 and 2 (8 probes), rank 1 batch 1.
POLICY = """\
probes: {count: 10, seed: 3}
attack: {steps: 3, eta_a: 4/255, batch_size: 4}
bootstrap: {resamples: 50}
protected: [Mustache]
gates:
  clean_accuracy: {min: 0.5}
  sdar: {max: 1.0}
"""
PYTHON = str(Path(sys.executable))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rank_env(rank: int, world: int, port: int) -> dict[str, str]:
    return {
        **os.environ,
        "MASTER_ADDR": "127.0.0.1",
        "MASTER_PORT": str(port),
        "WORLD_SIZE": str(world),
        "RANK": str(rank),
        "LOCAL_RANK": str(rank),
        "OMP_NUM_THREADS": "1",
    }


def start_rank(rank: int, port: int, args: list[str], log: Path) -> subprocess.Popen:
    with log.open("w") as err:
        return subprocess.Popen(
            [PYTHON, "-m", "sia_audit", "run", *args],
            env=rank_env(rank, 2, port),
            stdout=subprocess.PIPE,
            stderr=err,
            text=True,
        )


def run_two_ranks(tmp_path: Path, args0: list[str], args1: list[str], out: Path) -> list[int]:
    """Start rank 0 and rank 1 with their own arguments; their exit codes (stderr: rankN.err)."""
    port = free_port()
    procs = [
        start_rank(r, port, [*args, "--out", str(out), "--quiet"], tmp_path / f"rank{r}.err")
        for r, args in enumerate((args0, args1))
    ]
    for p in procs:
        p.wait(timeout=240)
    return [p.returncode for p in procs]


def figures(path: Path) -> dict:
    report = json.loads(path.read_text())
    report.pop("timings")
    report["provenance"].pop("ranks")
    report["provenance"].pop("threads")  # how the work was split, like ranks: not a figure
    return report


@pytest.fixture
def policy(tmp_path: Path) -> Path:
    path = tmp_path / "policy.yaml"
    path.write_text(POLICY)
    return path


def test_two_gloo_ranks_give_the_single_process_report(tmp_path: Path, policy: Path) -> None:
    single = CliRunner().invoke(
        cli, ["run", TARGET, "--policy", str(policy), "--out", str(tmp_path / "one"), "--quiet"]
    )
    assert single.exit_code == 0, single.output
    torchrun = Path(sys.executable).with_name("torchrun")
    args = ["--nproc_per_node", "2", "--master_port", str(free_port()), "-m", "sia_audit", "run"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    out = tmp_path / "two"
    done = subprocess.run(
        [str(torchrun), *args, TARGET, "--policy", str(policy), "--out", str(out), "--quiet"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert "(2 ranks)" in done.stdout and done.stdout.count("sia-audit: passed") == 1  # rank 0
    assert sorted(p.name for p in out.iterdir()) == sorted(
        p.name for p in (tmp_path / "one").iterdir()
    )
    two, one = figures(out / "report.json"), figures(tmp_path / "one" / "report.json")
    assert json.loads((out / "report.json").read_text())["provenance"]["ranks"] == 2
    assert two == one  # every figure, interval and per-probe row, bit for bit
    probes = SynthProbes(count=10, seed=3, size=64)
    assert two["probes"]["names"] == list(probes.names)
    rows = torch.tensor(two["probes"]["a0"])
    assert torch.allclose(rows, probes.attrs.float(), atol=1e-6)  # complete and in probe order


def test_a_killed_rank_ends_the_run_with_exit_2_and_no_report(tmp_path: Path, policy: Path) -> None:
    slow = tmp_path / "slow.yaml"
    slow.write_text(POLICY.replace("steps: 3", "steps: 40"))
    out = tmp_path / "rep"
    port = free_port()
    args = [TARGET, "--policy", str(slow), "--out", str(out), "--dist-timeout", "60"]
    logs = [tmp_path / "rank0.err", tmp_path / "rank1.err"]
    ranks = [start_rank(r, port, args, logs[r]) for r in (0, 1)]
    try:
        deadline = time.monotonic() + 240
        # Rank 0 opens its progress bar once both ranks agreed on their inputs: both attack.
        while "attacking" not in logs[0].read_text():
            assert ranks[0].poll() is None, logs[0].read_text()
            assert time.monotonic() < deadline, "the ranks never started attacking"
            time.sleep(0.2)
        ranks[1].send_signal(signal.SIGKILL)
        killed = time.monotonic()
        ranks[0].wait(timeout=90)
        took = time.monotonic() - killed
    finally:
        for p in ranks:
            p.kill()
            p.wait()
    assert ranks[0].returncode == 2
    assert took < 60, f"rank 0 took {took:.1f} s to notice"
    err = logs[0].read_text().strip().splitlines()
    assert err[-1].startswith("sia-audit: error: rank 0: another rank failed"), err
    assert "Traceback" not in logs[0].read_text()
    assert not out.exists() and list(tmp_path.glob(".*")) == []  # nothing half-written


def test_ranks_must_read_the_same_inputs(tmp_path: Path, policy: Path) -> None:
    other = tmp_path / "other.yaml"
    other.write_text(POLICY.replace("resamples: 50", "resamples: 60"))
    out = tmp_path / "rep"
    codes = run_two_ranks(
        tmp_path, [TARGET, "--policy", str(policy)], [TARGET, "--policy", str(other)], out
    )
    assert codes == [2, 2]
    err = (tmp_path / "rank0.err").read_text().strip().splitlines()
    assert len(err) == 1 and "rank 1 has a different set of inputs" in err[0], err
    assert not out.exists()


def test_a_bad_input_on_one_rank_stops_every_rank_before_the_attack(
    tmp_path: Path, policy: Path
) -> None:
    out = tmp_path / "rep"
    missing = str(tmp_path / "missing.pt")
    codes = run_two_ranks(
        tmp_path, [TARGET, "--policy", str(policy)], [missing, "--policy", str(policy)], out
    )
    assert codes == [2, 2]
    r0 = (tmp_path / "rank0.err").read_text().strip().splitlines()
    r1 = (tmp_path / "rank1.err").read_text().strip().splitlines()
    assert len(r0) == 1 and r0[0].startswith("sia-audit: error: rank 1 could not start"), r0
    assert len(r1) == 1 and "missing.pt" in r1[0], r1
    assert not out.exists()


def test_batches_are_dealt_out_whole_and_once() -> None:
    for n, size, world in ((10, 4, 2), (64, 32, 3), (5, 8, 4), (100, 7, 5)):
        shards = [plan_batches(n, size, r, world) for r in range(world)]
        assert sorted(b for s in shards for b in s) == list(range(0, n, size))
        assert max(map(len, shards)) - min(map(len, shards)) <= 1


def test_the_torchrun_environment_is_read_and_checked() -> None:
    base = {"MASTER_ADDR": "h", "MASTER_PORT": "1"}
    assert ranks_from_env({}) is None
    assert ranks_from_env({**base, "WORLD_SIZE": "1", "RANK": "0"}) is None
    r = ranks_from_env({**base, "WORLD_SIZE": "4", "RANK": "3", "LOCAL_RANK": "1"})
    assert (r.rank, r.world, r.local_rank, r.writer) == (3, 4, 1, False)
    for bad in (
        {**base, "WORLD_SIZE": "2", "RANK": "2"},
        {**base, "WORLD_SIZE": "two", "RANK": "0"},
        {"WORLD_SIZE": "2", "RANK": "0"},
    ):
        with pytest.raises(UsageError):
            ranks_from_env(bad)


@pytest.mark.parametrize("value", ["0", "inf"])  # nan and negatives take the same path
def test_a_bad_timeout_is_one_line_and_exit_2(tmp_path: Path, policy: Path, value: str) -> None:
    env = rank_env(0, 2, free_port())
    done = subprocess.run(
        [
            PYTHON,
            "-m",
            "sia_audit",
            "run",
            TARGET,
            "--policy",
            str(policy),
            "--out",
            str(tmp_path / "rep"),
            "--dist-timeout",
            value,
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "--dist-timeout must be a positive number" in lines[0], lines
    assert not (tmp_path / "rep").exists()
