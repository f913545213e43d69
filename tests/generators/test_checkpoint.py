"""Generator checkpoints: our one-file format, AttGAN-PyTorch folders, and their failure modes."""

from __future__ import annotations

import json
import pathlib
import pickle
from pathlib import Path

import pytest
import torch

from sia_audit.errors import DataError, ModelError, OutputError
from sia_audit.generators.attgan import AttGANGenerator
from sia_audit.generators.checkpoint import (
    FORMAT,
    check_attributes,
    load_checkpoint,
    load_generator,
    save_checkpoint,
)
from sia_audit.generators.reference import save_reference_folder
from sia_audit.probes.synthfaces.attributes import ATTRIBUTES

TINY = {
    "img_size": 32,
    "enc_dim": 8,
    "dec_dim": 8,
    "enc_layers": 3,
    "dec_layers": 3,
    "shortcut_layers": 1,
    "inject_layers": 1,
}
PROVENANCE = {"script": "tests", "seed": 3, "steps": 0, "created": "2026-11-21T00:00:00Z"}


def _tiny(seed: int = 0, attrs: tuple[str, ...] = ATTRIBUTES) -> AttGANGenerator:
    torch.manual_seed(seed)
    g = AttGANGenerator.from_settings(TINY, attrs, thres_int=0.75)
    for name, buf in g.net.named_buffers():
        if name.endswith("running_mean"):
            buf.normal_(0, 0.1)
        elif name.endswith("running_var"):
            buf.uniform_(0.5, 1.5)
        elif name.endswith("num_batches_tracked"):
            buf.fill_(seed + 7)
    return g


def _assert_same(a: AttGANGenerator, b: AttGANGenerator) -> None:
    sa, sb = a.net.state_dict(), b.net.state_dict()
    assert list(sa) == list(sb)
    assert all(torch.equal(sa[k], sb[k]) for k in sa)
    assert a.attr_names == b.attr_names and a.thres_int == b.thres_int
    assert a.settings == b.settings
    torch.manual_seed(5)
    x, attrs = torch.rand(3, 3, 32, 32), torch.rand(3, len(a.attr_names))
    with torch.no_grad():
        assert torch.equal(a(x, attrs), b(x, attrs))


def _message(exc: pytest.ExceptionInfo[BaseException]) -> str:
    text = str(exc.value)
    assert "\n" not in text
    return text


def test_our_checkpoint_round_trips(tmp_path: Path) -> None:
    g = _tiny()
    path = tmp_path / "gen.pt"
    save_checkpoint(path, g, PROVENANCE)
    raw = torch.load(path, map_location="cpu", weights_only=True)
    assert raw["format"] == FORMAT and raw["format_version"] == 1
    assert raw["attr_names"] == list(ATTRIBUTES) and raw["provenance"] == PROVENANCE
    assert raw["settings"]["n_attrs"] == 15
    loaded = load_generator(path)
    _assert_same(g, loaded)
    assert not loaded.training
    assert not any(p.requires_grad for p in loaded.parameters())
    assert loaded.provenance["seed"] == 3 and loaded.provenance["file"] == str(path)
    assert [p.name for p in tmp_path.iterdir()] == ["gen.pt"]  # no temporary file left behind


def test_gradients_flow_through_a_loaded_generator(tmp_path: Path) -> None:
    save_checkpoint(tmp_path / "gen.pt", _tiny(), PROVENANCE)
    loaded = load_generator(tmp_path / "gen.pt")
    x = torch.rand(1, 3, 32, 32, requires_grad=True)
    a = torch.rand(1, 15, requires_grad=True)
    loaded(x, a).sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    assert a.grad is not None and a.grad.abs().sum() > 0


@pytest.mark.parametrize("prefix", [False, True])
def test_reference_folder_round_trips(tmp_path: Path, prefix: bool) -> None:
    g = _tiny()
    folder = tmp_path / "128_shortcut1_inject1_none"
    weights = save_reference_folder(folder, g, 0, dataparallel_prefix=prefix)
    assert weights == folder / "checkpoint" / "weights.0.pth"
    keys = list(torch.load(weights, weights_only=True)["G"])
    assert all(k.startswith("module.") for k in keys) == prefix
    setting = json.loads((folder / "setting.txt").read_text())
    assert setting["attrs"] == list(ATTRIBUTES) and setting["thres_int"] == 0.75
    assert setting["inject_layers"] == 1 and setting["dis_norm"] == "instancenorm"
    loaded = load_generator(folder)
    _assert_same(g, loaded)
    assert loaded.provenance["epoch"] == 0


def test_reference_weights_with_optimiser_state_and_old_batchnorm(tmp_path: Path) -> None:
    g = _tiny()
    folder = tmp_path / "exp"
    save_reference_folder(folder, g, 1)
    # A full save() also holds D and optimiser states; PyTorch 0.4.0 had no num_batches_tracked.
    state = {k: v for k, v in g.net.state_dict().items() if "num_batches_tracked" not in k}
    full = {"G": state, "D": {"conv.0.layers.0.weight": torch.zeros(1)}, "optim_G": {}}
    torch.save(full, folder / "checkpoint" / "weights.1.pth")
    loaded = load_generator(folder).net.state_dict()
    assert all(torch.equal(v, loaded[k]) for k, v in state.items())
    assert int(loaded["enc_layers.0.layers.1.num_batches_tracked"]) == 0


def test_latest_is_the_highest_epoch_numerically(tmp_path: Path) -> None:
    folder = tmp_path / "exp"
    early, late = _tiny(seed=1), _tiny(seed=2)
    save_reference_folder(folder, early, 3)
    save_reference_folder(folder, late, 10)
    _assert_same(late, load_generator(folder))
    _assert_same(early, load_generator(folder, which=3))
    with pytest.raises(ModelError) as exc:
        load_generator(folder, which=7)
    assert "available epochs: 3, 10" in _message(exc)


def test_wrong_shape_names_the_key(tmp_path: Path) -> None:
    path = tmp_path / "gen.pt"
    save_checkpoint(path, _tiny(), PROVENANCE)
    raw = torch.load(path, weights_only=True)
    raw["state_dict"]["enc_layers.1.layers.0.weight"] = torch.zeros(16, 8, 3, 3)
    torch.save(raw, path)
    with pytest.raises(ModelError) as exc:
        load_generator(path)
    assert (
        "enc_layers.1.layers.0.weight has shape [16, 8, 3, 3] but settings imply "
        "[16, 8, 4, 4]" in _message(exc)
    )


def test_wrong_attribute_count_in_reference_folder(tmp_path: Path) -> None:
    folder = tmp_path / "exp"
    save_reference_folder(folder, _tiny(), 0)
    setting = json.loads((folder / "setting.txt").read_text())
    setting["attrs"] = setting["attrs"][:13]
    setting["n_attrs"] = 13
    (folder / "setting.txt").write_text(json.dumps(setting))
    with pytest.raises(ModelError) as exc:
        load_generator(folder)
    msg = _message(exc)
    assert "dec_layers.0.layers.0.weight" in msg
    assert "weights for 15 attributes, 13 attribute names given" in msg


def test_attribute_count_disagreeing_with_settings(tmp_path: Path) -> None:
    path = tmp_path / "gen.pt"
    save_checkpoint(path, _tiny(), PROVENANCE)
    raw = torch.load(path, weights_only=True)
    raw["attr_names"] = raw["attr_names"][:14]
    torch.save(raw, path)
    with pytest.raises(ModelError) as exc:
        load_generator(path)
    assert "n_attrs=15 but 14 attribute names" in _message(exc)


def test_missing_and_unexpected_keys_are_named(tmp_path: Path) -> None:
    path = tmp_path / "gen.pt"
    save_checkpoint(path, _tiny(), PROVENANCE)
    raw = torch.load(path, weights_only=True)
    del raw["state_dict"]["dec_layers.2.layers.0.bias"]
    raw["state_dict"]["dec_layers.9.layers.0.weight"] = torch.zeros(1)
    torch.save(raw, path)
    with pytest.raises(ModelError) as exc:
        load_generator(path)
    msg = _message(exc)
    assert "dec_layers.2.layers.0.bias is missing" in msg
    assert "1 unexpected keys (dec_layers.9.layers.0.weight)" in msg


def test_unknown_format_and_version(tmp_path: Path) -> None:
    path = tmp_path / "gen.pt"
    torch.save({"format": "something-else"}, path)
    with pytest.raises(ModelError, match="is not a sia-audit-generator checkpoint"):
        load_generator(path)
    save_checkpoint(path, _tiny(), PROVENANCE)
    raw = torch.load(path, weights_only=True)
    raw["format_version"] = 2
    torch.save(raw, path)
    with pytest.raises(ModelError) as exc:
        load_generator(path)
    assert "format_version 2" in _message(exc)


def test_reference_weights_file_passed_alone_points_to_its_folder(tmp_path: Path) -> None:
    weights = save_reference_folder(tmp_path / "exp", _tiny(), 0)
    with pytest.raises(ModelError, match="pass its experiment folder"):
        load_generator(weights)


@pytest.mark.parametrize("content", [b"", b"not a checkpoint at all", b"PK\x03\x04broken zip"])
def test_non_checkpoint_files_fail_cleanly(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "model.pt"
    path.write_bytes(content)
    with pytest.raises(ModelError) as exc:
        load_checkpoint(path)
    assert str(path) in _message(exc)
    assert exc.value.__cause__ is None and exc.value.__suppress_context__


class _Touch:
    """Unpickling this (without weights_only) would create a file: a stand-in for any code."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, ...]:
        return (pathlib.Path.touch, (self.marker,))


@pytest.mark.parametrize("via_torch", [False, True])
def test_arbitrary_pickled_objects_are_refused(tmp_path: Path, via_torch: bool) -> None:
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pt"
    payload = {"format": FORMAT, "format_version": 1, "x": _Touch(marker)}
    if via_torch:
        torch.save(payload, path)
    else:
        path.write_bytes(pickle.dumps(payload))
    with pytest.raises(ModelError) as exc:
        load_generator(path)
    msg = _message(exc)
    assert "refused by torch.load(weights_only=True)" in msg and "for safety" in msg
    assert not marker.exists()


def test_missing_paths_and_incomplete_folders(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="does not exist; expected an AttGAN-PyTorch"):
        load_generator(tmp_path / "nowhere")
    with pytest.raises(ModelError, match=r"has no setting\.txt"):
        load_generator(tmp_path)
    (tmp_path / "setting.txt").write_text("{not json")
    with pytest.raises(ModelError, match=r"cannot read .* as JSON"):
        load_generator(tmp_path)
    (tmp_path / "setting.txt").write_text(json.dumps({"attrs": ["Bald"]}))
    with pytest.raises(ModelError, match=r"has no checkpoint/weights\.N\.pth"):
        load_generator(tmp_path)


def test_unsupported_reference_settings_name_the_file(tmp_path: Path) -> None:
    folder = tmp_path / "exp"
    save_reference_folder(folder, _tiny(), 0)
    setting = json.loads((folder / "setting.txt").read_text())
    setting["enc_norm"] = "switchnorm"
    (folder / "setting.txt").write_text(json.dumps(setting))
    with pytest.raises(ModelError) as exc:
        load_generator(folder)
    assert "weights.0.pth: unsupported AttGAN normalisation 'switchnorm'" in _message(exc)


def test_saving_a_different_model_into_a_used_folder_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "exp"
    save_reference_folder(folder, _tiny(), 0)
    other = _tiny(attrs=tuple(reversed(ATTRIBUTES)))
    with pytest.raises(OutputError, match="different attrs"):
        save_reference_folder(folder, other, 1)


def test_provenance_must_be_plain(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="provenance"):
        save_checkpoint(tmp_path / "g.pt", _tiny(), {"steps": [1, 2]})


def test_check_attributes() -> None:
    names = list(ATTRIBUTES)
    check_attributes(ATTRIBUTES, names)
    with pytest.raises(DataError, match=r"missing Young, Smiling, Wearing_Lipstick"):
        check_attributes(ATTRIBUTES, names[:12])
    with pytest.raises(DataError, match=r"not known to the generator: Gray_Hair"):
        check_attributes(ATTRIBUTES, [*names, "Gray_Hair"])
    swapped = [names[1], names[0], *names[2:]]
    with pytest.raises(DataError) as exc:
        check_attributes(ATTRIBUTES, swapped)
    assert "misordered from position 0 (Bangs where the generator has Bald)" in _message(exc)
    with pytest.raises(DataError, match="repeated Bald"):
        check_attributes(["Bald", "Bangs"], ["Bald", "Bangs", "Bald"])
