"""A benchmark cache made with one generator is refused with another (no silent mixing)."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks.cache_stamp import STAMP, check_generator


def test_a_fresh_cache_is_stamped_and_accepted_again(tmp_path: Path) -> None:
    g = tmp_path / "g.pt"
    g.write_bytes(b"weights one")
    cache = tmp_path / "cache"
    check_generator(cache, g)
    assert len((cache / STAMP).read_text().strip()) == 64  # a sha256 in hex
    check_generator(cache, g)  # same generator: no complaint


def test_a_cache_of_another_generator_is_refused(tmp_path: Path) -> None:
    g = tmp_path / "g.pt"
    g.write_bytes(b"weights one")
    cache = tmp_path / "cache"
    check_generator(cache, g)
    g.write_bytes(b"weights two")
    with pytest.raises(SystemExit, match="made with another generator") as exc:
        check_generator(cache, g)
    assert "\n" not in str(exc.value)


def test_a_report_only_run_creates_nothing_but_still_refuses(tmp_path: Path) -> None:
    g = tmp_path / "g.pt"
    g.write_bytes(b"weights one")
    cache = tmp_path / "cache"
    check_generator(cache, g, write=False)
    assert not cache.exists()
    check_generator(cache, g)
    g.write_bytes(b"weights two")
    with pytest.raises(SystemExit, match="made with another generator"):
        check_generator(cache, g, write=False)
