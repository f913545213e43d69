"""Tests of the CelebA-format writer and loader: round trips, real-CelebA layout, bad inputs."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from sia_audit.errors import DataError
from sia_audit.fsutil import atomic_dir
from sia_audit.probes.celeba import CelebAProbes, Preprocess
from sia_audit.probes.celeba_files import ATTR_FILE, CONTINUOUS_FILE, LANDMARK_FILE, PARTITION_FILE
from sia_audit.probes.celeba_writer import CelebAWriter
from sia_audit.probes.synthfaces.attributes import ATTRIBUTES

RAW = Preprocess(center_crop=None, size=None)
SMALL = Preprocess(center_crop=16, size=8)
N, H, W = 20, 24, 20


def _arrays(n: int = N, h: int = H, w: int = W, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {
        "images": rng.integers(0, 256, (n, h, w, 3), dtype=np.uint8),
        # Quantised to 1/1000 so the %.3f files round-trip exactly.
        "attrs": np.round(rng.random((n, len(ATTRIBUTES))) * 1000) / 1000,
        "partition": rng.integers(0, 3, n),
        "landmarks": np.round(rng.random((n, 68, 2)) * [w, h] * 1000) / 1000,
    }


def _write(out: Path, arrays: dict[str, np.ndarray], names: tuple[str, ...] = ATTRIBUTES) -> Path:
    with atomic_dir(out) as tmp:
        writer = CelebAWriter(tmp, names)
        half = len(arrays["images"]) // 2  # two batches, to exercise incremental numbering
        for sl in (slice(0, half), slice(half, None)):
            writer.add(**{k: v[sl] for k, v in arrays.items()})
        writer.close()
    return out


@pytest.fixture
def written(tmp_path: Path) -> tuple[Path, dict[str, np.ndarray]]:
    arrays = _arrays()
    return _write(tmp_path / "set", arrays), arrays


def _edit(path: Path, fn: Callable[[list[str]], None]) -> None:
    lines = path.read_text().split("\n")
    fn(lines)
    path.write_text("\n".join(lines))


# ---------------------------------------------------------------------------------------------
# Round trips
# ---------------------------------------------------------------------------------------------


def test_round_trip_is_exact(written: tuple[Path, dict[str, np.ndarray]]) -> None:
    root, a = written
    probes = CelebAProbes(root, ATTRIBUTES, preprocess=RAW)
    assert len(probes) == N
    assert probes.names == tuple(f"{i:06d}.png" for i in range(1, N + 1))
    assert probes.attrs.dtype == torch.float32
    assert torch.equal(probes.attrs, torch.from_numpy(a["attrs"].astype(np.float32)))
    images = probes.load_images(range(N))
    expected = torch.from_numpy(a["images"]).permute(0, 3, 1, 2).to(torch.float32) / 255
    assert images.shape == (N, 3, H, W)
    assert torch.equal(images, expected)
    assert probes.landmarks is not None
    assert torch.equal(probes.landmarks, torch.from_numpy(a["landmarks"].astype(np.float32)))


def test_split_and_first_n_select_rows_in_file_order(
    written: tuple[Path, dict[str, np.ndarray]],
) -> None:
    root, a = written
    for split, code in (("train", 0), ("val", 1), ("test", 2), (2, 2)):
        probes = CelebAProbes(root, ATTRIBUTES, split=split, preprocess=RAW)
        rows = np.flatnonzero(a["partition"] == code)
        assert probes.names == tuple(f"{i + 1:06d}.png" for i in rows)
        assert torch.equal(probes.attrs, torch.from_numpy(a["attrs"][rows].astype(np.float32)))
        assert probes.split == split
    test_rows = np.flatnonzero(a["partition"] == 2)
    probes = CelebAProbes(root, ATTRIBUTES, split="test", first_n=2, preprocess=RAW)
    assert probes.names == tuple(f"{i + 1:06d}.png" for i in test_rows[:2])
    expected = torch.from_numpy(a["images"][test_rows[1]]).permute(2, 0, 1).float() / 255
    assert torch.equal(probes.load_images([1])[0], expected)
    assert probes.landmarks is not None
    assert torch.equal(
        probes.landmarks, torch.from_numpy(a["landmarks"][test_rows[:2]].astype(np.float32))
    )
    assert CelebAProbes(root, ATTRIBUTES, first_n=5, preprocess=RAW).names[-1] == "000005.png"


def test_binary_file_alone_gives_zero_one(written: tuple[Path, dict[str, np.ndarray]]) -> None:
    root, a = written
    (root / CONTINUOUS_FILE).unlink()
    (root / LANDMARK_FILE).unlink()
    probes = CelebAProbes(root, ATTRIBUTES, preprocess=RAW)
    assert torch.equal(probes.attrs, torch.from_numpy((a["attrs"] >= 0.5).astype(np.float32)))
    assert probes.landmarks is None


def test_writer_binarises_the_stored_value_not_the_raw_one(tmp_path: Path) -> None:
    a = _arrays(n=1)
    a["attrs"][0, 0] = 0.4996  # stored as "0.500", so the -1/1 file must say 1
    root = _write(tmp_path / "set", a)
    row = (root / ATTR_FILE).read_text().split("\n")[2].split()
    assert row[1] == "1"
    assert CelebAProbes(root, ATTRIBUTES, preprocess=RAW).attrs[0, 0].item() == 0.5


def test_png_bytes_are_deterministic(tmp_path: Path) -> None:
    a = _arrays(n=3)
    one, two = _write(tmp_path / "one", a), _write(tmp_path / "two", a)
    for name in ("000001.png", "000002.png", "000003.png"):
        data = (one / "img_align_celeba" / name).read_bytes()
        assert data == (two / "img_align_celeba" / name).read_bytes()
    for text in (ATTR_FILE, CONTINUOUS_FILE, PARTITION_FILE, LANDMARK_FILE):
        assert (one / text).read_text() == (two / text).read_text()


def test_real_celeba_layout_with_jpg_names(tmp_path: Path) -> None:
    root = tmp_path / "celeba"
    (root / "img_align_celeba").mkdir(parents=True)
    for i, colour in enumerate(((200, 10, 10), (10, 10, 200)), start=1):
        Image.new("RGB", (178, 218), colour).save(root / "img_align_celeba" / f"{i:06d}.jpg")
    # Real CelebA: trailing space after the header, values padded to two characters.
    (root / ATTR_FILE).write_text(
        "2\nSmiling Male Young \n000001.jpg -1  1  1\n000002.jpg  1 -1 -1\n"
    )
    (root / PARTITION_FILE).write_text("000001.jpg 0\n000002.jpg 2\n")
    probes = CelebAProbes(root, ["Young", "Smiling"])
    assert probes.names == ("000001.jpg", "000002.jpg")
    assert probes.attrs.tolist() == [[1.0, 0.0], [0.0, 1.0]]
    images = probes.load_images([0, 1])
    assert images.shape == (2, 3, 128, 128)
    assert images[0, 0].mean() > 0.7 and images[1, 2].mean() > 0.7  # red, then blue
    test = CelebAProbes(root, ["Male"], split="test")
    assert test.names == ("000002.jpg",) and test.attrs.tolist() == [[0.0]]


# ---------------------------------------------------------------------------------------------
# Preprocessing geometry
# ---------------------------------------------------------------------------------------------


def test_crop_and_resize_move_landmarks_with_the_pixels(tmp_path: Path) -> None:
    x, y = 100, 120  # a bright pixel in a 178x218 (CelebA aligned) image
    a = _arrays(n=1, h=218, w=178)
    a["images"][:] = 0
    a["images"][0, y, x] = 255
    a["landmarks"][0, 0] = (x + 0.5, y + 0.5)  # the centre of that pixel
    root = _write(tmp_path / "set", a)
    probes = CelebAProbes(root, ATTRIBUTES, preprocess=Preprocess(center_crop=170, size=128))
    # CenterCrop(170) of 178x218 starts at left 4, top 24; then 170 -> 128 px.
    want = ((x + 0.5 - 4) * 128 / 170, (y + 0.5 - 24) * 128 / 170)
    assert probes.landmarks is not None
    got = probes.landmarks[0, 0].tolist()
    assert got == pytest.approx(want, abs=1e-4)
    img = probes.load_images([0])[0, 0].double()
    assert img.shape == (128, 128)
    rows, cols = torch.meshgrid(torch.arange(128.0), torch.arange(128.0), indexing="ij")
    centroid = ((img * (cols + 0.5)).sum() / img.sum(), (img * (rows + 0.5)).sum() / img.sum())
    assert centroid[0].item() == pytest.approx(want[0], abs=0.25)
    assert centroid[1].item() == pytest.approx(want[1], abs=0.25)
    peak = divmod(int(img.argmax()), 128)
    assert abs(peak[1] - int(want[0])) <= 1 and abs(peak[0] - int(want[1])) <= 1


# ---------------------------------------------------------------------------------------------
# Attribute matching
# ---------------------------------------------------------------------------------------------


def test_attributes_are_matched_by_name(tmp_path: Path) -> None:
    shuffled = tuple(np.random.default_rng(1).permutation(ATTRIBUTES).tolist())
    a = _arrays(n=4)
    root = _write(tmp_path / "set", a, names=shuffled)
    probes = CelebAProbes(root, ATTRIBUTES, preprocess=RAW)
    order = [shuffled.index(name) for name in ATTRIBUTES]
    assert torch.equal(probes.attrs, torch.from_numpy(a["attrs"][:, order].astype(np.float32)))
    subset = CelebAProbes(root, ["Young", "Bald"], preprocess=RAW)
    cols = [shuffled.index("Young"), shuffled.index("Bald")]
    assert torch.equal(subset.attrs, torch.from_numpy(a["attrs"][:, cols].astype(np.float32)))
    with pytest.raises(DataError) as exc:
        CelebAProbes(root, [*ATTRIBUTES, "Wavy_Hair", "Attractive"], preprocess=RAW)
    message = str(exc.value)
    assert "Wavy_Hair" in message and "Attractive" in message and ATTR_FILE in message
    assert "\n" not in message


# ---------------------------------------------------------------------------------------------
# Bad inputs: each one DataError, one line, naming the file
# ---------------------------------------------------------------------------------------------


def _set_row_name(name: str) -> Callable[[Path], None]:
    def mutate(root: Path) -> None:
        def fn(lines: list[str]) -> None:
            lines[2] = name + " " + lines[2].split(" ", 1)[1]

        _edit(root / ATTR_FILE, fn)

    return mutate


def _set_attr_value(file: str, value: str) -> Callable[[Path], None]:
    def mutate(root: Path) -> None:
        def fn(lines: list[str]) -> None:
            fields = lines[3].split()
            fields[2] = value
            lines[3] = " ".join(fields)

        _edit(root / file, fn)

    return mutate


def _flip_binary(root: Path) -> None:
    def fn(lines: list[str]) -> None:
        fields = lines[4].split()
        fields[5] = "1" if fields[5] == "-1" else "-1"
        lines[4] = " ".join(fields)

    _edit(root / ATTR_FILE, fn)


def _set_line(file: str, index: int, text: str) -> Callable[[Path], None]:
    def mutate(root: Path) -> None:
        def fn(lines: list[str]) -> None:
            lines[index] = text

        _edit(root / file, fn)

    return mutate


def _drop_last_value(root: Path) -> None:
    def fn(lines: list[str]) -> None:
        lines[5] = lines[5].rsplit(" ", 1)[0]

    _edit(root / ATTR_FILE, fn)


def _truncate_image(root: Path) -> None:
    path = root / "img_align_celeba" / "000002.png"
    path.write_bytes(path.read_bytes()[:80])  # header intact, pixel data cut short


def _resize_image(root: Path) -> None:
    Image.new("RGB", (W + 1, H)).save(root / "img_align_celeba" / "000004.png")


def _duplicate_row(root: Path) -> None:
    def fn(lines: list[str]) -> None:
        lines[3] = lines[2]

    _edit(root / ATTR_FILE, fn)


def _garble_image(root: Path) -> None:
    (root / "img_align_celeba" / "000002.png").write_bytes(b"not an image at all")


BAD_CASES: dict[str, tuple[Callable[[Path], None], dict[str, object], str, bool]] = {
    # name: (mutation, CelebAProbes kwargs, text the message must hold, raised at load time)
    "missing image": (
        lambda r: (r / "img_align_celeba" / "000003.png").unlink(),
        {},
        "000003.png",
        False,
    ),
    "count line wrong": (_set_line(ATTR_FILE, 0, "19"), {}, ATTR_FILE, False),
    "count not an integer": (_set_line(ATTR_FILE, 0, "twenty"), {}, ATTR_FILE, False),
    "row too short": (_drop_last_value, {}, ATTR_FILE, False),
    "value 0": (_set_attr_value(ATTR_FILE, "0"), {}, ATTR_FILE, False),
    "value 2": (_set_attr_value(ATTR_FILE, "2"), {}, ATTR_FILE, False),
    "name ../x.png": (_set_row_name("../x.png"), {}, ATTR_FILE, False),
    "name /etc/passwd": (_set_row_name("/etc/passwd"), {}, ATTR_FILE, False),
    "name a/b.png": (_set_row_name("a/b.png"), {}, ATTR_FILE, False),
    "name ..": (_set_row_name(".."), {}, ATTR_FILE, False),
    "name with backslash": (_set_row_name("a\\b.png"), {}, ATTR_FILE, False),
    "partition file missing": (
        lambda r: (r / PARTITION_FILE).unlink(),
        {"split": "test"},
        PARTITION_FILE,
        False,
    ),
    "unknown split": (lambda r: None, {"split": "testing"}, "testing", False),
    "first_n too large": (lambda r: None, {"first_n": N + 1}, f"only {N}", False),
    "first_n zero": (lambda r: None, {"first_n": 0}, "first_n", False),
    "side file disagrees": (_flip_binary, {}, CONTINUOUS_FILE, False),
    "side file value 1.5": (_set_attr_value(CONTINUOUS_FILE, "1.5"), {}, CONTINUOUS_FILE, False),
    "crop larger than image": (
        lambda r: None,
        {"preprocess": Preprocess(center_crop=64, size=32)},
        "center_crop 64",
        False,
    ),
    "landmark row short": (
        _set_line(LANDMARK_FILE, 2, "000001.png 1.0 2.0"),
        {},
        LANDMARK_FILE,
        False,
    ),
    "image of another size": (_resize_image, {}, "000004.png", False),
    "duplicate name": (_duplicate_row, {}, ATTR_FILE, False),
    "unreadable image header": (_garble_image, {}, "000002.png", False),
    "corrupt image data": (_truncate_image, {}, "000002.png", True),
}


@pytest.mark.parametrize("case", BAD_CASES)
def test_bad_input_is_a_one_line_data_error(
    written: tuple[Path, dict[str, np.ndarray]], case: str
) -> None:
    root, _ = written
    mutate, kwargs, needle, at_load = BAD_CASES[case]
    mutate(root)
    kwargs = {"preprocess": RAW, **kwargs}
    if at_load:
        # Decoding problems surface only when pixels are read, and name the file then.
        probes = CelebAProbes(root, ATTRIBUTES, **kwargs)  # type: ignore[arg-type]
        with pytest.raises(DataError) as exc:
            probes.load_images(range(len(probes)))
    else:
        with pytest.raises(DataError) as exc:
            CelebAProbes(root, ATTRIBUTES, **kwargs)  # type: ignore[arg-type]
    message = str(exc.value)
    assert "\n" not in message
    assert needle in message
    assert str(root) in message  # names the file, with its folder


def test_side_file_disagreement_names_row_and_attribute(
    written: tuple[Path, dict[str, np.ndarray]],
) -> None:
    root, _ = written
    _flip_binary(root)
    with pytest.raises(DataError, match=rf"{CONTINUOUS_FILE}:5: attribute '{ATTRIBUTES[4]}'"):
        CelebAProbes(root, ATTRIBUTES)


def test_writer_rejects_bad_arrays(tmp_path: Path) -> None:
    a = _arrays(n=2)
    writer = CelebAWriter(tmp_path, ATTRIBUTES)
    with pytest.raises(ValueError, match="uint8"):
        writer.add(**{**a, "images": a["images"].astype(np.float32)})
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        writer.add(**{**a, "attrs": a["attrs"] + 1})
    with pytest.raises(ValueError, match="partition"):
        writer.add(**{**a, "partition": np.array([0, 3])})
    with pytest.raises(ValueError, match="landmarks"):
        writer.add(a["images"], a["attrs"], a["partition"])
    assert writer.add(**a) == ["000001.png", "000002.png"]


def test_load_images_rejects_out_of_range(written: tuple[Path, dict[str, np.ndarray]]) -> None:
    probes = CelebAProbes(written[0], ATTRIBUTES, preprocess=RAW)
    with pytest.raises(IndexError):
        probes.load_images([N])
    assert probes.load_images([]).shape == (0, 3, H, W)


# ---------------------------------------------------------------------------------------------
# Manifest fingerprint
# ---------------------------------------------------------------------------------------------


def test_manifest_sha256_tracks_the_selection(written: tuple[Path, dict[str, np.ndarray]]) -> None:
    root, _ = written

    def sha(**kwargs: object) -> str:
        kwargs = {"preprocess": SMALL, **kwargs}
        return CelebAProbes(root, ATTRIBUTES, **kwargs).manifest_sha256()  # type: ignore[arg-type]

    base = sha(split="test", first_n=3)
    assert len(base) == 64
    assert base == sha(split="test", first_n=3)
    assert base == sha(split=2, first_n=3)  # the same split spelt differently
    assert base != sha(split="train", first_n=3)
    assert base != sha(split="test", first_n=2)
    assert base != sha(split="test", first_n=3, preprocess=RAW)
    # One attribute value of the first test image, kept on the same side of 0.5.
    first = int(CelebAProbes(root, ATTRIBUTES, split="test", preprocess=RAW).names[0][:6])

    def nudge(lines: list[str]) -> None:
        fields = lines[first + 1].split()
        v = float(fields[1])
        if v < 0.5:
            fields[1] = "0.001" if v == 0 else "0.000"
        else:
            fields[1] = "0.999" if v == 1 else "1.000"
        lines[first + 1] = " ".join(fields)

    _edit(root / CONTINUOUS_FILE, nudge)
    assert base != sha(split="test", first_n=3)


def test_truncated_image_is_refused_whatever_pil_was_told(
    written: tuple[Path, dict[str, np.ndarray]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """WeasyPrint sets PIL's LOAD_TRUNCATED_IMAGES globally; the loader must not inherit it."""
    from PIL import ImageFile

    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", True)
    root, _ = written
    _truncate_image(root)
    probes = CelebAProbes(root, ATTRIBUTES, preprocess=RAW)
    with pytest.raises(DataError, match="000002.png"):
        probes.load_images(range(len(probes)))
    assert ImageFile.LOAD_TRUNCATED_IMAGES is True  # restored for whoever set it
