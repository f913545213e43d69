"""`sia-audit generate`: SIA adversaries as a CelebA-format set that loads back and trains.

Tiny settings on the shipped generator and the demo control target (10 synthfaces probes, 3
steps, batches of 4); bad input is one line, exit 2, and leaves nothing behind.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

from sia_audit.app.generate import LABELS_FILE, PROVENANCE_FILE, read_labels, to_uint8
from sia_audit.app.inputs import BUILTIN, generator_path
from sia_audit.attacks.config import AttackConfig
from sia_audit.attacks.engine import attack
from sia_audit.audit import attribute_radii, loop
from sia_audit.cli import cli
from sia_audit.errors import ModelError
from sia_audit.generators.checkpoint import load_generator
from sia_audit.probes.celeba import CelebAProbes, Preprocess
from sia_audit.probes.synthetic import SynthProbes
from sia_audit.probes.synthfaces.attributes import ATTRIBUTES, INDEX
from sia_audit.probes.synthfaces.dataset import synthesize
from sia_audit.targets.loading import load_target
from tests.attacks.conftest import small_cnn

ROOT = Path(__file__).resolve().parents[2]
TARGET = str(ROOT / "examples" / "models" / "eyeglasses_control.pt")
COUNT, SEED, STEPS, BATCH = 10, 3, 3, 4
POLICY = f"""\
probes: {{count: {COUNT}, seed: {SEED}}}
attack: {{steps: {STEPS}, eta_a: 4/255, batch_size: {BATCH}}}
"""
AS_STORED = Preprocess(center_crop=None, size=None)


@pytest.fixture(autouse=True)
def _one_thread() -> Iterator[None]:
    # Results do not depend on the thread count; one thread avoids contention on a busy machine.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def generate(*args: str):
    return CliRunner().invoke(cli, ["generate", *args, "--quiet"])


def tree_digest(root: Path) -> str:
    h = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        h.update(str(path.relative_to(root)).encode())
        h.update(path.read_bytes())
    return h.hexdigest()


@pytest.fixture(scope="module")
def policy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("policy") / "policy.yaml"
    path.write_text(POLICY)
    return path


@pytest.fixture(scope="module")
def out(tmp_path_factory: pytest.TempPathFactory, policy: Path) -> Path:
    folder = tmp_path_factory.mktemp("gen") / "adv"
    result = generate(TARGET, "--policy", str(policy), "--out", str(folder))
    assert result.exit_code == 0, result.output
    assert f"wrote {COUNT} adversaries" in result.output
    return folder


def expected_adversaries() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The same attack run here through the engine: uint8 images, a0 and a_T of every probe."""
    generator = load_generator(generator_path(BUILTIN)).eval()
    target = load_target(TARGET).eval()
    probes = SynthProbes(COUNT, seed=SEED, size=64)
    config = AttackConfig(variant="full", steps=STEPS, eta_x=1 / 255, eta_a=4 / 255)
    eps_a = attribute_radii(generator, target, {})
    images, a_T = [], []
    for start in range(0, COUNT, BATCH):
        idx = list(range(start, min(start + BATCH, COUNT)))
        a0 = probes.attrs[idx]
        y = (a0[:, INDEX["Eyeglasses"]] >= 0.5).float()
        r = attack(
            probes.load_images(idx),
            a0,
            y,
            generator=generator,
            target=target,
            task=target.task,
            config=config,
            eps_a=eps_a,
        )
        images.append(torch.from_numpy(to_uint8(r.adversary)))
        a_T.append(r.a_T)
    return torch.cat(images), probes.attrs, torch.cat(a_T)


def test_output_loads_back_with_the_celeba_loader_and_matches_the_attack(out: Path) -> None:
    loaded = CelebAProbes(out, ATTRIBUTES, preprocess=AS_STORED)
    images, a0, a_T = expected_adversaries()
    assert len(loaded) == COUNT and loaded.output_size == (64, 64)
    stored = (loaded.load_images(range(COUNT)) * 255).round().to(torch.uint8).permute(0, 2, 3, 1)
    assert torch.equal(stored, images)
    # The continuous side file holds a_T at 3 decimals; the -1/1 table agrees with it (the
    # loader checks that) and the attack really moved the attributes.
    assert torch.allclose(loaded.attrs, a_T, atol=5e-4 + 1e-6)
    assert (a_T - a0).abs().max() > 0.01
    # The target's own attribute is frozen: it stays at a0, so its column is the label.
    k = INDEX["Eyeglasses"]
    assert torch.equal(loaded.attrs[:, k], a0[:, k])
    labels = read_labels(out)
    assert [labels[n] for n in loaded.names] == (a0[:, k] >= 0.5).int().tolist()


def test_splits_are_contiguous_80_10_10(out: Path) -> None:
    sizes = {
        s: CelebAProbes(out, ATTRIBUTES, split=s, preprocess=AS_STORED)
        for s in ("train", "val", "test")
    }
    assert {s: len(p) for s, p in sizes.items()} == {"train": 8, "val": 1, "test": 1}
    assert sizes["train"].names[-1] == "000008.png" and sizes["test"].names == ("000010.png",)


def test_provenance_lists_every_image(out: Path, policy: Path) -> None:
    meta = json.loads((out / PROVENANCE_FILE).read_text())
    files = sorted(p.name for p in (out / "img_align_celeba").iterdir())
    rows = meta["images"]
    assert [r["file"] for r in rows] == files and len(files) == COUNT
    assert [r["probe"] for r in rows] == list(SynthProbes(COUNT, seed=SEED).names)
    assert all(r["flipped"] == (r["correct_clean"] and not r["correct_adversary"]) for r in rows)
    assert meta["summary"]["flipped"] == sum(r["flipped"] for r in rows)
    assert meta["attack"]["variant"] == "full" and meta["attack"]["steps"] == STEPS
    assert meta["frozen"] == ["Eyeglasses"] and meta["target_task"]["label"] == "Eyeglasses"
    inputs = meta["inputs"]
    assert inputs["policy_sha256"] == hashlib.sha256(policy.read_bytes()).hexdigest()
    assert all(len(inputs[k]) == 64 for k in ("target_sha256", "generator_sha256"))
    assert meta["probes"]["manifest_sha256"] == SynthProbes(COUNT, seed=SEED).manifest_sha256()


def test_a_tiny_model_trains_on_it(out: Path) -> None:
    loaded = CelebAProbes(out, ATTRIBUTES, split="train", preprocess=AS_STORED)
    labels = read_labels(out)
    x = loaded.load_images(range(len(loaded)))
    y = torch.tensor([[float(labels[n])] for n in loaded.names])
    model = small_cnn(1).train()
    opt = torch.optim.SGD(model.parameters(), lr=0.5)
    losses = []
    for _ in range(3):
        loss = torch.nn.functional.binary_cross_entropy_with_logits(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert all(torch.isfinite(torch.tensor(losses))) and losses[-1] != losses[0]


def test_same_inputs_same_bytes(out: Path, policy: Path, tmp_path: Path) -> None:
    again = tmp_path / "again"
    assert generate(TARGET, "--policy", str(policy), "--out", str(again)).exit_code == 0
    assert tree_digest(again) == tree_digest(out)


def test_count_overrides_the_policy_and_a_celeba_folder_works(tmp_path: Path) -> None:
    folder = synthesize(tmp_path / "faces", 4, seed=0)
    policy = tmp_path / "p.yaml"
    policy.write_text(f"probes: {{source: {folder}, count: 4}}\nattack: {{steps: 2}}\n")
    result = generate(TARGET, "--policy", str(policy), "--out", str(tmp_path / "o"), "-n", "3")
    assert result.exit_code == 0, result.output
    meta = json.loads((tmp_path / "o" / PROVENANCE_FILE).read_text())
    assert [r["probe"] for r in meta["images"]] == ["000001.png", "000002.png", "000003.png"]


def test_keypoint_targets_get_their_landmarks_as_labels(tmp_path: Path) -> None:
    policy = tmp_path / "k.yaml"
    policy.write_text("probes: {count: 2, seed: 1}\nattack: {steps: 2}\n")
    model = str(ROOT / "examples" / "models" / "keypoints.pt")
    result = generate(model, "--policy", str(policy), "--out", str(tmp_path / "o"))
    assert result.exit_code == 0, result.output
    assert not (tmp_path / "o" / LABELS_FILE).exists()
    loaded = CelebAProbes(tmp_path / "o", ATTRIBUTES, preprocess=AS_STORED)
    assert loaded.landmarks is not None
    expected = SynthProbes(2, seed=1).landmarks
    assert expected is not None and torch.allclose(loaded.landmarks, expected, atol=5e-4 + 1e-5)


def _nonempty(tmp: Path) -> dict[str, str]:
    (tmp / "out").mkdir()
    (tmp / "out" / "mine.txt").write_text("mine")
    return {"--out": str(tmp / "out")}


def _under_a_file(tmp: Path) -> dict[str, str]:
    (tmp / "a-file").write_text("x")
    return {"--out": str(tmp / "a-file" / "out")}


def _too_many_for_the_folder(tmp: Path) -> dict[str, str]:
    folder = synthesize(tmp / "faces", 4, seed=0)
    (tmp / "p.yaml").write_text(f"probes: {{source: {folder}, count: 4}}\n")
    return {"--policy": str(tmp / "p.yaml"), "--count": "5"}


def _not_the_first(name: str) -> str:
    """A --where filter the policy's first probe fails."""
    on = bool(SynthProbes(1, seed=SEED).attrs[0, INDEX[name]] >= 0.5)
    return f"{name}={0 if on else 1}"


def _one_probe_failing_where(tmp: Path) -> dict[str, str]:
    """The policy's probe set is its first probe, and --where (without --count) fails it."""
    (tmp / "p.yaml").write_text(POLICY.replace(f"count: {COUNT}", "count: 1"))
    return {"--policy": str(tmp / "p.yaml"), "--where": _not_the_first("Bald")}


# case -> (what to change in a good command line, words the one-line error must hold)
BAD = {
    "non-empty out": (_nonempty, "already exists and is not an empty folder"),
    "out under a file": (_under_a_file, "is a file"),
    "missing target": (lambda tmp: {"target": str(tmp / "nope.pt")}, "file not found"),
    "count 0": (lambda tmp: {"--count": "0"}, "--count must be at least 1"),
    "negative count": (lambda tmp: {"--count": "-3"}, "--count must be at least 1"),
    "count above 6-digit names": (lambda tmp: {"--count": "1000000"}, "use at most 999999"),
    "batch size 0": (lambda tmp: {"--batch-size": "0"}, "--batch-size must be at least 1"),
    "missing policy": (lambda tmp: {"--policy": str(tmp / "none.yaml")}, "cannot read"),
    "count above the folder": (_too_many_for_the_folder, "has only 4 images"),
    "per-image 0": (lambda tmp: {"--per-image": "0"}, "--per-image must be at least 1"),
    "where unknown": (lambda tmp: {"--where": "Beard=1"}, "names 'Beard', which the generator"),
    "where malformed": (lambda tmp: {"--where": "Eyeglasses=2"}, "write ATTRIBUTE=1 or"),
    "where matches none": (_one_probe_failing_where, "no image of the 1 matches"),
    "split without source": (lambda tmp: {"--split": "train"}, "--split chooses a split of"),
    "source not a folder": (lambda tmp: {"--source": str(tmp / "none")}, "none"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_input_is_one_line_exit_2_and_leaves_nothing(
    case: str, tmp_path: Path, policy: Path
) -> None:
    make, words = BAD[case]
    work = tmp_path / "work"
    work.mkdir()
    args = {"target": TARGET, "--policy": str(policy), "--out": str(work / "adv")}
    args.update(make(work))
    before = sorted(str(p) for p in work.rglob("*"))
    result = generate(args.pop("target"), *(x for kv in args.items() for x in kv))
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("sia-audit: error: ") and words in lines[0]
    assert sorted(str(p) for p in work.rglob("*")) == before


def test_an_error_mid_attack_leaves_nothing(
    tmp_path: Path, policy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = []
    real = loop.attack  # the batch loop generate runs through

    def fail_on_second_batch(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        calls.append(1)
        if len(calls) == 2:
            raise ModelError("the target's loss became non-finite; check the target")
        return real(*args, **kwargs)

    monkeypatch.setattr(loop, "attack", fail_on_second_batch)
    result = generate(TARGET, "--policy", str(policy), "--out", str(tmp_path / "adv"))
    assert result.exit_code == 2 and "non-finite" in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_where_keeps_the_minority_and_per_image_adds_random_starts(
    tmp_path: Path, policy: Path, out: Path
) -> None:
    folder = tmp_path / "minority"
    args = ["--policy", str(policy), "--out", str(folder), "--where", "Eyeglasses=1"]
    result = generate(TARGET, *args, "--per-image", "2")
    assert result.exit_code == 0, result.output
    meta = json.loads((folder / PROVENANCE_FILE).read_text())
    pool = SynthProbes(COUNT, seed=SEED)
    glasses = pool.attrs[:, INDEX["Eyeglasses"]]
    chosen = [n for n, a in zip(pool.names, glasses, strict=True) if a >= 0.5]
    assert 0 < len(chosen) < COUNT
    rows = meta["images"]
    assert [r["probe"] for r in rows] == chosen * 2 and [r["repeat"] for r in rows] == (
        [0] * len(chosen) + [1] * len(chosen)
    )
    assert meta["command"]["where"] == ["Eyeglasses=1"] and meta["command"]["per_image"] == 2
    assert all(r["label"] == 1 for r in rows)  # the minority class of an Eyeglasses target
    split_of = {}
    for r in rows:  # an image and its second adversary are in one split: nothing leaks
        assert split_of.setdefault(r["probe"], r["split"]) == r["split"]
    # Repeat 0 is SIA from the image itself: the same adversary as without the options.
    plain = {
        r["probe"]: r["file"] for r in json.loads((out / PROVENANCE_FILE).read_text())["images"]
    }
    first = rows[0]
    same = (folder / "img_align_celeba" / first["file"]).read_bytes()
    assert same == (out / "img_align_celeba" / plain[first["probe"]]).read_bytes()
    second = rows[len(chosen)]
    assert (folder / "img_align_celeba" / second["file"]).read_bytes() != same


@pytest.mark.parametrize("source", ["synthfaces", "folder"])
def test_count_with_where_takes_the_first_n_that_match(
    tmp_path: Path, policy: Path, source: str
) -> None:
    """--count N --where A=v writes N adversaries: the first N images that match, not the
    matches among the first N (which wrote 2 where 8 were asked)."""
    faces = synthesize(tmp_path / "faces", 40, seed=5) if source == "folder" else None
    extra = ["--source", str(faces)] if faces else []
    pool = CelebAProbes(faces, ATTRIBUTES, preprocess=AS_STORED) if faces else None
    pool = pool or SynthProbes(4, seed=SEED)  # what --count 4 alone draws
    on = pool.attrs[:, INDEX["Eyeglasses"]] >= 0.5
    among_first = int((~on[:4]).sum())
    assert among_first < 4  # the old reading would have written fewer than asked
    out = tmp_path / "adv"
    result = generate(
        TARGET, "--policy", str(policy), "--out", str(out), "--count", "4",
        "--where", "Eyeglasses=0", "--batch-size", "4", *extra,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    rows = json.loads((out / PROVENANCE_FILE).read_text())["images"]
    assert len(rows) == 4 and result.output.startswith("wrote 4 adversaries")
    if faces:  # a folder is read whole and filtered in order
        wanted = [n for n, o in zip(pool.names, on.tolist(), strict=True) if not o][:4]
        assert [r["probe"] for r in rows] == wanted


def test_count_with_where_refuses_what_does_not_match_enough(tmp_path: Path, policy: Path) -> None:
    # Hair colours are exclusive: no face has both, however many are drawn.
    result = generate(
        TARGET, "--policy", str(policy), "--out", str(tmp_path / "adv"), "--count", "2",
        "--where", "Black_Hair=1", "--where", "Blond_Hair=1",
    )  # fmt: skip
    assert result.exit_code == 2, result.output
    line = result.stderr.strip()
    assert "no image of the 128 images matches --where Black_Hair=1 and Blond_Hair=1" in line
    assert "--count asks for 2" in line and not (tmp_path / "adv").exists()


def test_source_takes_a_split_of_the_user_s_own_folder(tmp_path: Path, policy: Path) -> None:
    faces = synthesize(tmp_path / "faces", 10, seed=4)  # 8 train, 1 val, 1 test
    result = generate(
        TARGET, "--policy", str(policy), "--out", str(tmp_path / "o"),
        "--source", str(faces), "--split", "train",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    meta = json.loads((tmp_path / "o" / PROVENANCE_FILE).read_text())
    assert [r["probe"] for r in meta["images"]] == [f"{i:06d}.png" for i in range(1, 9)]
    assert meta["probes"]["source"] == str(faces) and meta["command"]["split"] == "train"
