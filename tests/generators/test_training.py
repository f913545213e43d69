"""Training: paired and unpaired loops, resumption, and the train-generator command (tiny, CPU)."""

from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner, Result

from sia_audit.cli import _Cli
from sia_audit.commands.train_generator import train_generator
from sia_audit.errors import SiaAuditError
from sia_audit.generators.checkpoint import load_generator, save_checkpoint
from sia_audit.generators.training import (
    ArchConfig,
    PairedConfig,
    UnpairedConfig,
    state_path_for,
    train_paired,
    train_unpaired,
)
from sia_audit.generators.training.paired import (
    edge_loss,
    region_loss,
    sample_batch,
    sample_targets,
)
from sia_audit.probes.celeba_writer import CelebAWriter
from sia_audit.probes.synthfaces.attributes import ATTRIBUTES
from sia_audit.probes.synthfaces.params import IDENTITY_PARAMS, NUISANCE_PARAMS, sample_unit
from sia_audit.probes.synthfaces.renderer import render
from sia_audit.probes.synthfaces.sampler import AttributeSampler

TINY = ArchConfig(img_size=16, enc_dim=8, dec_dim=8, layers=2, shortcut_layers=1, inject_layers=1)


def tiny_paired(**kw: object) -> PairedConfig:
    base: dict[str, object] = {"steps": 4, "batch_size": 4, "seed": 3, "warmup": 0, "arch": TINY}
    return PairedConfig(**{**base, **kw})  # type: ignore[arg-type]


def same_weights(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


def close_parameters(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    """Parameters within 1e-6 (a training step also moves batch-norm statistics: not compared)."""
    pa, pb = dict(a.named_parameters()), dict(b.named_parameters())
    return pa.keys() == pb.keys() and all(torch.allclose(pa[k], pb[k], atol=1e-6) for k in pa)


@pytest.fixture(scope="module")
def celeba_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("celeba")
    gen = torch.Generator().manual_seed(0)
    n = 16
    _, attrs = AttributeSampler().sample(n, gen)
    images = render(
        sample_unit(n, IDENTITY_PARAMS, gen), sample_unit(n, NUISANCE_PARAMS, gen), attrs, 16
    ).images
    pixels = (images.permute(0, 2, 3, 1) * 255).round().to(torch.uint8).numpy()
    with CelebAWriter(root, ATTRIBUTES, with_landmarks=False) as w:
        w.add(pixels, attrs.numpy(), np.zeros(n, dtype=np.int64))
    return root


def tiny_unpaired(root: Path, **kw: object) -> UnpairedConfig:
    base: dict[str, object] = {
        "data": str(root),
        "attr_names": ATTRIBUTES,
        "steps": 2,
        "batch_size": 4,
        "n_d": 2,
        "center_crop": None,
        "dis_dim": 8,
        "dis_fc_dim": 16,
        "dis_layers": 2,
        "arch": TINY,
    }
    return UnpairedConfig(**{**base, **kw})  # type: ignore[arg-type]


def test_paired_lowers_the_loss_on_a_fixed_batch() -> None:
    config = tiny_paired(steps=30, batch_size=8, lr=3e-3)
    batch = sample_batch(16, 16, torch.Generator().manual_seed(99), config)

    def loss(steps: int) -> float:
        g = train_paired(
            tiny_paired(steps=max(steps, 1), batch_size=8, lr=3e-3), stop_at=steps
        ).generator
        with torch.no_grad():
            return float(
                (g(batch.x, batch.b) - batch.truth).abs().mean()
                + (g(batch.x, batch.a) - batch.x).abs().mean()
            )

    assert loss(30) < 0.8 * loss(0)


def test_paired_is_seeded_and_resumes_exactly(tmp_path: Path) -> None:
    config = tiny_paired(steps=4)
    straight = train_paired(config).generator
    state = tmp_path / "g.pt.state.pt"
    half = train_paired(config, state_path=state, checkpoint_every=2, stop_at=2)
    assert not half.finished and half.steps_done == 2
    assert torch.load(state, weights_only=True)["step"] == 2
    resumed = train_paired(config, state_path=state, resume=True)
    assert resumed.finished and resumed.steps_done == 4
    assert same_weights(straight.net, resumed.generator.net)
    assert not same_weights(straight.net, train_paired(tiny_paired(seed=4)).generator.net)


def test_paired_with_critic_resumes_exactly(tmp_path: Path) -> None:
    config = tiny_paired(lambda_adv=0.1, dis_dim=4, dis_fc_dim=8, dis_layers=2)
    straight = train_paired(config)
    assert {"d_loss", "d_gp", "g_adv"} <= set(straight.last_losses)
    state = tmp_path / "g.pt.state.pt"
    train_paired(config, state_path=state, stop_at=2)
    assert "D" in torch.load(state, weights_only=True)
    resumed = train_paired(config, state_path=state, resume=True)
    assert same_weights(straight.generator.net, resumed.generator.net)


def test_edit_weights_choose_which_attribute_a_single_edit_changes() -> None:
    a = torch.full((4000, len(ATTRIBUTES)), 0.2)
    weights = tuple(
        3.0 if name == "Male" else 0.0 if name == "Bald" else 1.0 for name in ATTRIBUTES
    )
    b = sample_targets(a, torch.Generator().manual_seed(0), 0.0, weights)
    changed = (b != a).float().sum(0)
    male, bald = ATTRIBUTES.index("Male"), ATTRIBUTES.index("Bald")
    others = [j for j in range(len(ATTRIBUTES)) if j not in (male, bald)]
    assert changed[bald] == 0
    ratio = float(changed[male] / changed[others].mean())
    assert 2.6 < ratio < 3.4  # 3 expected; 4000 draws give about +-0.3
    # Without weights the draw is the one every earlier run made (same seed, same targets).
    plain = sample_targets(a, torch.Generator().manual_seed(0), 0.0)
    assert torch.equal(plain, sample_targets(a, torch.Generator().manual_seed(0), 0.0, ()))
    assert not torch.equal(plain, b)


@pytest.mark.parametrize("weights", [(1.0,) * 3, (-1.0,) + (1.0,) * 14, (0.0,) * 15])
def test_bad_edit_weights_are_refused(weights: tuple[float, ...]) -> None:
    with pytest.raises(SiaAuditError, match="edit weights"):
        tiny_paired(edit_weights=weights)


def test_edge_loss_counts_a_misplaced_edge_and_not_a_copied_one() -> None:
    x = torch.zeros(1, 3, 8, 8)
    truth = x.clone()
    truth[..., 2:6, 2:4] = 1.0  # a bar two pixels wide
    shifted = x.clone()
    shifted[..., 2:6, 3:5] = 1.0  # the same bar a pixel to the right
    assert float(edge_loss(truth, x, truth)) == 0.0
    assert float(edge_loss(shifted, x, truth)) > 0.0
    # A bar drawn at half strength in the right place keeps its edges where they were.
    blurred = truth * 0.5
    assert float(edge_loss(blurred, x, truth)) < float(edge_loss(shifted, x, truth))


def test_region_rms_prefers_the_average_of_two_places_where_l1_does_not() -> None:
    x = torch.zeros(2, 3, 8, 8)
    truth = x.clone()
    truth[0, :, 2:6, 2:4] = 1.0  # the same bar, a pixel apart in the two faces
    truth[1, :, 2:6, 3:5] = 1.0
    guess_one = truth[[0, 0]]  # both drawn at the first place
    guess_mean = truth.mean(0, keepdim=True).expand(2, -1, -1, -1)  # both at the average
    for metric in ("l1", "rms"):
        assert float(region_loss((truth - truth).abs(), x, truth, metric)) < 1e-3
    err_one, err_mean = (guess_one - truth).abs(), (guess_mean - truth).abs()
    # L1 cannot tell the two guesses apart; the squared error, which PSNR scores, prefers the mean.
    assert float(region_loss(err_one, x, truth, "l1")) == pytest.approx(
        float(region_loss(err_mean, x, truth, "l1"))
    )
    assert float(region_loss(err_mean, x, truth, "rms")) < float(
        region_loss(err_one, x, truth, "rms")
    )


def test_a_bad_region_metric_is_refused() -> None:
    with pytest.raises(SiaAuditError, match="region metric"):
        tiny_paired(region_metric="l2")


def test_paired_runs_with_edit_weights_and_the_edge_term() -> None:
    weights = tuple(float(j + 1) for j in range(len(ATTRIBUTES)))
    result = train_paired(tiny_paired(edit_weights=weights, lambda_edge=0.5, lambda_region=1.0))
    assert result.finished
    assert result.provenance["lambda_edge"] == 0.5
    assert result.provenance["edit_weights"] == ",".join(str(j + 1) for j in range(15))
    plain = train_paired(tiny_paired()).provenance
    assert "lambda_edge" not in plain and "region_metric" not in plain
    rms = train_paired(tiny_paired(lambda_region=1.0, region_metric="rms"))
    assert rms.finished and rms.provenance["region_metric"] == "rms"


def test_fine_tuning_starts_from_the_checkpoint_and_records_it(tmp_path: Path) -> None:
    first = train_paired(tiny_paired(steps=6)).generator
    start = tmp_path / "start.pt"
    save_checkpoint(start, first, {"note": "test"})
    # One step at a learning rate of ~0 leaves the weights where fine-tuning started them.
    tuned = train_paired(tiny_paired(steps=1, lr=1e-12, seed=9, init_from=str(start)))
    assert close_parameters(first.net, tuned.generator.net)
    scratch = train_paired(tiny_paired(steps=1, lr=1e-12, seed=9)).generator
    assert not close_parameters(first.net, scratch.net)
    digest = hashlib.sha256(start.read_bytes()).hexdigest()
    assert tuned.provenance["init_sha256"] == digest
    assert tuned.provenance["init_from"] == "start.pt"


def test_resuming_a_fine_tuning_whose_start_file_changed_is_refused(tmp_path: Path) -> None:
    start = tmp_path / "start.pt"
    save_checkpoint(start, train_paired(tiny_paired(steps=1)).generator, {"note": "test"})
    config = tiny_paired(steps=4, init_from=str(start))
    state = tmp_path / "g.pt.state.pt"
    train_paired(config, state_path=state, stop_at=2)
    save_checkpoint(start, train_paired(tiny_paired(steps=2)).generator, {"note": "other"})
    with pytest.raises(SiaAuditError, match="config differs.*init_sha256"):
        train_paired(config, state_path=state, resume=True)


def test_fine_tuning_from_another_architecture_is_refused(tmp_path: Path) -> None:
    start = tmp_path / "start.pt"
    save_checkpoint(start, train_paired(tiny_paired(steps=1)).generator, {"note": "test"})
    wider = dataclasses.replace(TINY, enc_dim=16)
    with pytest.raises(SiaAuditError, match="cannot fine-tune from .*start.pt"):
        train_paired(tiny_paired(steps=1, arch=wider, init_from=str(start)))


def test_resume_with_another_config_is_refused(tmp_path: Path) -> None:
    state = tmp_path / "g.pt.state.pt"
    train_paired(tiny_paired(), state_path=state, stop_at=2)
    with pytest.raises(SiaAuditError, match="config differs.*lr"):
        train_paired(tiny_paired(lr=5e-4), state_path=state, resume=True)
    with pytest.raises(SiaAuditError, match="no training state"):
        train_paired(tiny_paired(), state_path=tmp_path / "none.state.pt", resume=True)


def test_unpaired_runs_and_resumes(celeba_dir: Path, tmp_path: Path) -> None:
    config = tiny_unpaired(celeba_dir)
    straight = train_unpaired(config)
    assert straight.finished and set(straight.last_losses) >= {"d_loss", "gc_loss", "gr_loss"}
    assert straight.generator.attr_names == ATTRIBUTES
    state = tmp_path / "u.state.pt"
    train_unpaired(config, state_path=state, stop_at=1)
    resumed = train_unpaired(config, state_path=state, resume=True)
    assert same_weights(straight.generator.net, resumed.generator.net)
    with pytest.raises(SiaAuditError, match="holds a unpaired run|config differs"):
        train_paired(tiny_paired(), state_path=state, resume=True)


def cli() -> _Cli:
    group = _Cli()
    group.add_command(train_generator)
    return group


def test_cli_bad_data_is_one_line_exit_2(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli(), ["train-generator", str(tmp_path / "nope"), "--out", str(tmp_path / "g.pt")]
    )
    assert result.exit_code == 2
    assert result.output.strip().count("\n") == 0 and "CelebA-format folder" in result.output


def test_cli_paired_writes_a_loadable_checkpoint(tmp_path: Path) -> None:
    out = tmp_path / "g.pt"
    args = [
        "train-generator",
        "builtin:synthfaces",
        "--out",
        str(out),
        "--steps",
        "2",
        "--batch-size",
        "2",
        "--size",
        "16",
        "--enc-dim",
        "4",
        "--dec-dim",
        "4",
        "--layers",
        "2",
        "--seed",
        "5",
    ]
    result = CliRunner().invoke(cli(), args)
    assert result.exit_code == 0, result.output
    raw = torch.load(out, weights_only=True)
    assert raw["provenance"]["mode"] == "paired" and raw["provenance"]["steps"] == 2
    g = load_generator(out)
    assert g.attr_names == ATTRIBUTES and g.image_size == 16
    assert state_path_for(out).is_file()
    # A second run over the same state without --resume would silently discard it: refused.
    again = CliRunner().invoke(cli(), args)
    assert again.exit_code == 2 and "--resume" in again.output


def test_cli_unpaired_runs(celeba_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "u.pt"
    result = CliRunner().invoke(
        cli(),
        [
            "train-generator",
            str(celeba_dir),
            "--out",
            str(out),
            "--steps",
            "1",
            "--batch-size",
            "4",
            "--size",
            "16",
            "--enc-dim",
            "4",
            "--dec-dim",
            "4",
            "--layers",
            "2",
            "--center-crop",
            "0",
            "--dis-dim",
            "4",
            "--dis-fc-dim",
            "8",
            "--dis-layers",
            "2",
        ],
    )
    assert result.exit_code == 0, result.output
    assert load_generator(out).provenance["mode"] == "unpaired"


TINY_PAIRED_ARGS = [
    "--steps", "2", "--batch-size", "2", "--size", "16", "--enc-dim", "4", "--dec-dim", "4",
    "--layers", "2", "--checkpoint-every", "0",
]  # fmt: skip


def train_tiny(out: Path, *extra: str, seed: int = 5) -> Result:
    """`train-generator builtin:synthfaces` at a toy size, writing `out`."""
    args = ["train-generator", "builtin:synthfaces", "--out", str(out), *TINY_PAIRED_ARGS]
    return CliRunner().invoke(cli(), [*args, "--seed", str(seed), *extra])


def test_cli_paired_levers_reach_the_run(tmp_path: Path) -> None:
    start, out, fresh = tmp_path / "start.pt", tmp_path / "tuned.pt", tmp_path / "fresh.pt"
    assert train_tiny(start).exit_code == 0
    levers = ["--region-weight", "4", "--region-metric", "rms", "--edge-weight", "0.5",
              "--edit-weight", "Male=5", "--edit-weight", "Mustache=2.5",
              "--init-from", str(start)]  # fmt: skip
    result = train_tiny(out, *levers, seed=7)
    assert result.exit_code == 0, result.output
    prov = load_generator(out).provenance
    assert prov["lambda_region"] == 4.0 and prov["lambda_edge"] == 0.5
    assert prov["region_metric"] == "rms"
    expected = [1.0] * len(ATTRIBUTES)
    expected[ATTRIBUTES.index("Male")], expected[ATTRIBUTES.index("Mustache")] = 5.0, 2.5
    assert [float(w) for w in str(prov["edit_weights"]).split(",")] == expected
    assert prov["init_from"] == "start.pt"
    # Fine-tuning really started from the first run's weights: 2 more steps (another seed)
    # move them a little; that seed's own initialisation lies far from them.
    assert train_tiny(fresh, seed=7).exit_code == 0
    a = load_generator(start).net.state_dict()
    name = next(k for k in a if k.endswith("weight") and a[k].dim() == 4)

    def distance(path: Path) -> float:
        return float((load_generator(path).net.state_dict()[name] - a[name]).abs().max())

    assert 0 < distance(out) < 0.05 < distance(fresh)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--edit-weight", "Moustache=2"], "not a synthfaces attribute"),
        (["--edit-weight", "Male"], "expected NAME=W"),
        (["--edit-weight", "Male=-1"], "expected NAME=W"),
        (["--edit-weight", "Male=lots"], "expected NAME=W"),
        (["--init-from", "missing.pt"], "no such checkpoint file"),
        (["--init-from", "GARBAGE"], "refused by torch.load"),
        (["--init-from", "START", "--enc-dim", "8"], "cannot fine-tune from"),
        (["--region-metric", "rms"], "no effect without --region-weight"),
    ],
)
def test_cli_bad_paired_levers_are_one_line_exit_2(
    tmp_path: Path, extra: list[str], message: str
) -> None:
    garbage, start = tmp_path / "garbage.pt", tmp_path / "start.pt"
    garbage.write_text("not a checkpoint")
    assert train_tiny(start).exit_code == 0  # --enc-dim 4
    paths = {"GARBAGE": str(garbage), "START": str(start)}
    result = train_tiny(tmp_path / "g.pt", *[paths.get(arg, arg) for arg in extra])
    assert result.exit_code == 2, result.output
    assert result.output.strip().count("\n") == 0 and message in result.output
    assert not (tmp_path / "g.pt").exists()


def test_cli_paired_levers_refused_in_unpaired_mode(celeba_dir: Path, tmp_path: Path) -> None:
    args = ["train-generator", str(celeba_dir), "--out", str(tmp_path / "u.pt")]
    extra = ["--region-weight", "1", "--region-metric", "rms", "--edit-weight", "Male=2"]
    result = CliRunner().invoke(cli(), [*args, *extra])
    assert result.exit_code == 2
    assert "--region-weight, --region-metric, --edit-weight apply to paired mode" in result.output
