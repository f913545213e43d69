"""Session fixtures: the demo models' audits through the action, made once per session.

Each is a real `sia-audit run` of a demo model through the composite action with its ONNX
export: the control under policies/fairness.yaml at its full settings (~40 s on 2 cores), the
biased model under a small policy that it violates by construction. The action's
tests (tests/action/test_action_steps.py) and the demo models' tests
(tests/commands/test_demo_models.py) read the same runs; a fixture runs only when a test asks
for it, so a selection that needs neither pays nothing.

With SIA_TEST_SHARD=I/N set (scripts/check.sh sets it), collection keeps shard I's modules
only (tests/sharding.py); the modules that use one of these fixtures stay in one shard.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests import sharding
from tests.action.harness import ActionRun, audit_demo_model, violated

# No test reads or writes the user's editability cache (~/.cache/sia-audit), and none depends
# on what an earlier test left there; the cache's own tests point it at a temporary folder.
os.environ["SIA_AUDIT_CACHE"] = "off"


@pytest.fixture(scope="session")
def action_biased(tmp_path_factory: pytest.TempPathFactory) -> tuple[ActionRun, Path]:
    """The action on examples/models/eyeglasses_biased.pt (and .onnx) under a policy violated
    by construction: the run, its workdir. It checks what the action does with a violation; the
    shipped policy's verdict on this model is tests/commands/test_demo_models.py's, whose demo
    audits it at full settings, so this run is a small one (8 probes, 2 steps, ~5 s)."""
    work = tmp_path_factory.mktemp("action-biased")
    return audit_demo_model(work, "eyeglasses_biased", policy=str(violated(work))), work


@pytest.fixture(scope="session")
def action_control(tmp_path_factory: pytest.TempPathFactory) -> tuple[ActionRun, Path]:
    """The action on examples/models/eyeglasses_control.pt (and .onnx): the run, its workdir."""
    work = tmp_path_factory.mktemp("action-control")
    return audit_demo_model(work, "eyeglasses_control"), work


def _suite_session_fixtures(item: pytest.Item) -> set[str]:
    """The session fixtures defined in this suite's conftest files that the test uses."""
    info = getattr(item, "_fixtureinfo", None)
    if info is None:
        return set()
    here = Path(__file__).parent
    used = set()
    for name, defs in info.name2fixturedefs.items():
        for fixturedef in defs:
            if fixturedef.scope != "session":
                continue
            code = getattr(fixturedef.func, "__code__", None)
            where = Path(code.co_filename) if code is not None else None
            if where is not None and where.name == "conftest.py" and here in where.parents:
                used.add(f"{where.relative_to(here)}:{name}")
    return used


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """With SIA_TEST_SHARD=I/N, keep only shard I's modules (tests/sharding.py)."""
    value = os.environ.get(sharding.ENV)
    if not value:
        return
    try:
        index, count = sharding.parse(value)
    except ValueError as exc:
        raise pytest.UsageError(str(exc)) from None
    shared: dict[str, set[str]] = {}
    for item in items:
        shared.setdefault(item.location[0], set()).update(_suite_session_fixtures(item))
    shard = sharding.assign(shared, sharding.load_seconds(), count)
    keep = [item for item in items if shard[item.location[0]] == index]
    config.hook.pytest_deselected(items=[i for i in items if shard[i.location[0]] != index])
    items[:] = keep
