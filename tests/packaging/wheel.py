"""Build the wheel of this checkout, and a fresh virtualenv that has what a user's machine has.

The virtualenv reuses this machine's torch without copying it (5 GB): a folder of symbolic links
to exactly the distributions the wheel requires, transitively, as installed for the interpreter
running the tests (the project's .venv), reached through a .pth file. Neither sia-audit, its
editable finder nor any extra (onnxruntime, the dev tools) is linked, so the venv is what
`pip install sia-audit` gives beside an existing torch. pip then installs the wheel from no
index, constrained to constraints/this-machine.txt: it must find every dependency already there
at the constrained versions, or fail.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
import venv
import zipfile
from email.parser import Parser
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
CONSTRAINTS = ROOT / "constraints" / "this-machine.txt"
# Left out of the copy the wheel is built from: caches, and a training run's resumable state.
IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info", "*.state.pt")


def build_wheel(work: Path) -> Path:
    """The wheel of the working tree, built from a copy of what pyproject packages (building in
    the checkout would write build/ and *.egg-info beside other runs)."""
    source = work / "src"
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    for folder in ("sia_audit", *config["package-dir"].values()):
        shutil.copytree(ROOT / folder, source / folder, ignore=IGNORE)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
         "-w", str(work / "dist"), str(source)],
        check=True, capture_output=True, env=pip_env(),
    )  # fmt: skip
    (wheel,) = (work / "dist").glob("*.whl")
    return wheel


def pip_env() -> dict[str, str]:
    """The environment without this machine's pip configuration: only what the test gives."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    return {**env, "PIP_CONFIG_FILE": os.devnull, "PIP_DISABLE_PIP_VERSION_CHECK": "1"}


def requirements(wheel: Path) -> list[Requirement]:
    """The Requires-Dist lines of the wheel (with their extra markers)."""
    with zipfile.ZipFile(wheel) as z:
        (name,) = (n for n in z.namelist() if n.endswith(".dist-info/METADATA"))
        meta = Parser().parsestr(z.read(name).decode())
    return [Requirement(line) for line in meta.get_all("Requires-Dist") or []]


def _applies(req: Requirement, extras: frozenset[str]) -> bool:
    """Whether `req` is needed by a distribution installed with `extras` (here, this Python)."""
    return req.marker is None or any(req.marker.evaluate({"extra": e}) for e in {"", *extras})


def closure(reqs: list[Requirement]) -> list[metadata.Distribution]:
    """The installed distributions (of this interpreter) that `reqs` need without extras,
    transitively."""
    installed: dict[str, metadata.Distribution] = {}
    for dist in metadata.distributions():  # sys.path order: the first of a name is the one used
        installed.setdefault(canonicalize_name(dist.metadata["Name"]), dist)
    found: dict[str, metadata.Distribution] = {}
    seen: set[tuple[str, frozenset[str]]] = set()
    todo = [r for r in reqs if _applies(r, frozenset())]
    while todo:
        req = todo.pop()
        key, extras = canonicalize_name(req.name), frozenset(req.extras)
        if (key, extras) in seen:
            continue
        seen.add((key, extras))
        if key not in installed:
            raise LookupError(f"{req.name}, which the wheel needs, is not installed here")
        dist = found[key] = installed[key]
        own = (Requirement(line) for line in dist.requires or [])
        todo += [r for r in own if _applies(r, extras)]
    return list(found.values())


def link_dependencies(wheel: Path, into: Path) -> list[str]:
    """Symbolic links in `into` to the top-level entries (packages, modules, dist-info folders)
    of the wheel's installed dependencies; their names, sorted."""
    into.mkdir()
    for dist in closure(requirements(wheel)):
        site = Path(str(dist.locate_file("")))
        for top in {f.parts[0] for f in dist.files or ()} - {"..", "__pycache__"}:
            if (site / top).exists() and not (into / top).exists():
                (into / top).symlink_to(site / top)
    return sorted(p.name for p in into.iterdir())


def fresh_venv(wheel: Path, where: Path) -> Path:
    """A new virtualenv with the wheel installed beside this machine's torch; its bin folder."""
    deps = where / "machine-site-packages"
    link_dependencies(wheel, deps)
    venv.EnvBuilder(with_pip=False).create(where / "venv")
    python = where / "venv" / "bin" / "python"
    own_site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True, capture_output=True, text=True,
    ).stdout.strip()  # fmt: skip
    (Path(own_site) / "machine-dependencies.pth").write_text(f"{deps}\n")
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-index",
         "-c", str(CONSTRAINTS), str(wheel)],
        check=True, capture_output=True, text=True, env=pip_env(),
    )  # fmt: skip
    return python.parent
