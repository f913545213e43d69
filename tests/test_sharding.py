"""The suite's shards: every test in exactly one, shared session fixtures in one, balanced."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests import sharding
from tests.durations import every_module_seconds, module_seconds

ROOT = Path(__file__).resolve().parents[1]


def test_a_split_puts_every_module_in_one_shard_and_keeps_sharers_together() -> None:
    shared = {"a.py": {"f"}, "b.py": set(), "c.py": {"f", "g"}, "d.py": {"g"}, "e.py": set()}
    seconds = {"a.py": 10.0, "b.py": 30.0, "c.py": 5.0, "d.py": 1.0, "e.py": 20.0}
    got = sharding.assign(shared, seconds, 2)
    assert set(got) == set(shared)
    assert got["a.py"] == got["c.py"] == got["d.py"]  # joined through f and g
    loads = [sum(seconds[m] for m, s in got.items() if s == i) for i in range(2)]
    assert sorted(loads) == [30.0, 36.0]  # b | a+c+d (16) + e (20)
    assert sharding.assign(shared, seconds, 2) == got  # the same split in every shard


def test_unknown_modules_count_the_default_and_more_shards_than_modules_leave_some_empty() -> None:
    got = sharding.assign({"x.py": set(), "y.py": set()}, {}, 3)
    assert sorted(got.values()) == [0, 1]


@pytest.mark.parametrize("value", ["2", "a/b", "2/2", "-1/2", "1/0"])
def test_a_bad_shard_says_what_is_wrong(value: str) -> None:
    with pytest.raises(ValueError, match=sharding.ENV):
        sharding.parse(value)


def test_durations_sum_each_modules_cases(tmp_path: Path) -> None:
    junit = tmp_path / "j.xml"
    junit.write_text(
        '<testsuites><testsuite name="pytest">'
        '<testcase classname="tests.x.test_y" name="a" time="1.5"/>'
        '<testcase classname="tests.x.test_y.TestC" name="b" time="2.0"/>'
        '<testcase classname="tests.test_z" name="c" time="0.25"/>'
        "</testsuite></testsuites>"
    )
    assert module_seconds(junit) == {"tests/test_z.py": 0.2, "tests/x/test_y.py": 3.5}
    other = tmp_path / "k.xml"  # another shard's report: its modules join, a shared one adds
    other.write_text(
        '<testsuites><testsuite name="pytest">'
        '<testcase classname="tests.test_w" name="d" time="4.0"/>'
        '<testcase classname="tests.test_z" name="e" time="1.0"/>'
        "</testsuite></testsuites>"
    )
    assert every_module_seconds([junit, other]) == {
        "tests/test_w.py": 4.0, "tests/test_z.py": 1.2, "tests/x/test_y.py": 3.5
    }  # fmt: skip


def collected(shard: str | None, paths: list[str]) -> list[str]:
    env = {k: v for k, v in os.environ.items() if k != sharding.ENV}
    if shard is not None:
        env[sharding.ENV] = shard
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", *paths],
        capture_output=True, text=True, cwd=ROOT, env=env, check=False,
    )  # fmt: skip
    assert done.returncode in (0, 5), done.stdout + done.stderr  # 5: nothing collected
    return sorted(line for line in done.stdout.splitlines() if "::" in line)


def test_the_real_suites_shards_cover_it_once_and_share_the_action_audits() -> None:
    paths = ["tests/action/test_action_steps.py", "tests/commands/test_demo_models.py",
             "tests/test_sharding.py", "tests/test_defaults.py"]  # fmt: skip
    every = collected(None, paths)
    first, second = collected("0/2", paths), collected("1/2", paths)
    assert sorted(first + second) == every and not set(first) & set(second)
    # both modules read the session's real audits of the demo models: one shard runs them
    audits = [t for t in every if "test_action_steps" in t or "test_demo_models" in t]
    assert set(audits) <= set(first) or set(audits) <= set(second)


def test_a_bad_shard_variable_stops_pytest_with_its_message() -> None:
    env = {**os.environ, sharding.ENV: "3/2"}
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider",
         "tests/test_defaults.py"],
        capture_output=True, text=True, cwd=ROOT, env=env, check=False,
    )  # fmt: skip
    assert done.returncode == 4 and "SIA_TEST_SHARD='3/2': I must lie in 0..N-1" in done.stderr
