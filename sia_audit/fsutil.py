"""File helpers: atomic writes (a failed or interrupted run leaves no half-written output) and
content hashes."""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from sia_audit.errors import OutputError


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write `data` to `path` through a temporary file in the same folder and a rename."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise OutputError(
            f"cannot write {path}: {exc.strerror}; choose a writable location"
        ) from exc
    try:
        # mkstemp creates 0600; give the file the mode a plain open() would (0666 & ~umask).
        umask = os.umask(0)
        os.umask(umask)
        os.fchmod(fd, 0o666 & ~umask)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def atomic_write_text(path: Path, text: str) -> None:
    """Text flavour of `atomic_write_bytes` (UTF-8)."""
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_files(folder: Path, files: dict[str, bytes]) -> None:
    """Write several files into `folder` as one step as far as a file system allows.

    Every file is first written in full to a temporary sibling; only when all of them exist are
    they renamed into place, so a failure (a full disk, an interrupt) while writing leaves the
    folder's previous files untouched, never a new report.json beside an old summary.
    """
    folder = Path(folder)
    tmps: dict[Path, str] = {}
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for name, data in files.items():
            fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=folder)
            tmps[folder / name] = tmp
            umask = os.umask(0)
            os.umask(umask)
            os.fchmod(fd, 0o666 & ~umask)
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
    except OSError as exc:
        for tmp in tmps.values():
            with contextlib.suppress(OSError):
                os.unlink(tmp)
        raise OutputError(
            f"cannot write to {folder}: {exc.strerror}; choose a writable location"
        ) from exc
    except BaseException:
        for tmp in tmps.values():
            with contextlib.suppress(OSError):
                os.unlink(tmp)
        raise
    for path, tmp in tmps.items():
        os.replace(tmp, path)


def check_writable_folder(out: Path, flag: str = "--out") -> None:
    """Fail before minutes of work when `out` cannot take files; creates nothing."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise OutputError(f"{flag} {out} is a file; give a folder")
    probe = out
    while not probe.exists():
        probe = probe.parent
    if not probe.is_dir():
        raise OutputError(f"{flag} {out}: {probe} is a file, so the folder cannot be created")
    if not os.access(probe, os.W_OK | os.X_OK):
        raise OutputError(f"{flag} {out}: {probe} is not writable; choose another folder")
    if probe == out:
        try:
            with tempfile.NamedTemporaryFile(dir=out, prefix=".write-test-"):
                pass
        except OSError as exc:
            raise OutputError(f"cannot write to {flag} {out}: {exc.strerror}") from exc


def check_new_dir(out: Path) -> Path:
    """Refuse an output folder that already holds files, so nothing a user had is overwritten."""
    out = Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise OutputError(f"{out} already exists and is not an empty folder; choose a new path")
    return out


@contextlib.contextmanager
def atomic_dir(out: Path) -> Iterator[Path]:
    """Yield a temporary sibling folder to fill; on success it is renamed to `out`.

    On any error the temporary folder is removed and `out` is left as it was (absent or empty).
    """
    out = check_new_dir(Path(out))
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent))
    except OSError as exc:
        raise OutputError(
            f"cannot write {out}: {exc.strerror}; choose a writable location"
        ) from exc
    try:
        yield tmp
        if out.exists():
            out.rmdir()  # empty, checked above
        os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def sha256_of(path: Path) -> str:
    """Hash of a file, or of every file below a folder (sorted by relative path)."""
    h = hashlib.sha256()
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    for f in files:
        if path.is_dir():
            h.update(str(f.relative_to(path)).encode())
        h.update(f.read_bytes())
    return h.hexdigest()
