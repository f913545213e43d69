"""Attribute classifiers for the editability check: TorchScript with names, D's fc_cls head."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pytest
import torch
from torch import nn

from sia_audit.errors import ModelError
from sia_audit.generators.attgan import AttGANGenerator, Discriminators
from sia_audit.generators.checkpoint import load_generator
from sia_audit.generators.classifiers import (
    CLASSIFIER_FILE,
    discriminator_classifier,
    load_torchscript_classifier,
    resolve_classifier,
    shipped_classifier_path,
)
from sia_audit.generators.reference import save_reference_folder
from sia_audit.probes.synthfaces.attributes import ATTRIBUTES

NAMES = ("Bald", "Mustache", "Smiling")
TINY = {"img_size": 32, "enc_dim": 8, "dec_dim": 8, "enc_layers": 3, "dec_layers": 3}


def tiny_generator(names: tuple[str, ...] = NAMES) -> AttGANGenerator:
    torch.manual_seed(0)
    return AttGANGenerator.from_settings(TINY, names)


class MeanColour(nn.Module):
    """Logits from the mean colour of the image: small, deterministic, scriptable."""

    def __init__(self, outputs: int) -> None:
        super().__init__()
        torch.manual_seed(1)
        self.fc = nn.Linear(3, outputs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(x.mean(dim=(2, 3)))


def save(path: Path, outputs: int, meta: dict | None) -> Path:
    extra = {} if meta is None else {CLASSIFIER_FILE: json.dumps(meta)}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.jit.save(torch.jit.script(MeanColour(outputs)), str(path), _extra_files=extra)
    return path


def test_columns_follow_the_generator_s_names_and_order(tmp_path: Path) -> None:
    names = ["Smiling", "Young", "Bald", "Mustache"]  # a superset, in another order
    path = save(tmp_path / "c.pt", 4, {"attributes": names})
    clf = load_torchscript_classifier(path, tiny_generator())
    x = torch.rand(5, 3, 32, 32)
    logits = MeanColour(4)(x)
    expected = torch.sigmoid(logits[:, [2, 3, 0]])
    assert torch.allclose(clf(x), expected, atol=1e-6)


def test_inputs_are_resized_and_normalised_as_declared(tmp_path: Path) -> None:
    meta = {"attributes": list(NAMES), "input_size": [16, 16], "mean": [0.5] * 3, "std": [0.25] * 3}
    clf = load_torchscript_classifier(save(tmp_path / "c.pt", 3, meta), tiny_generator())
    x = torch.rand(2, 3, 32, 32)
    small = nn.functional.interpolate(x, size=(16, 16), mode="bilinear", align_corners=False)
    assert torch.allclose(clf(x), torch.sigmoid(MeanColour(3)((small - 0.5) / 0.25)), atol=1e-6)


@pytest.mark.parametrize(
    ("outputs", "meta", "words"),
    [
        (2, {"attributes": list(NAMES)}, "outputs (2, 2) but names 3 attributes"),
        (3, {"attributes": ["Bald", "Mustache", "Young"]}, "does not name the generator's "
         "attributes ['Smiling']"),
        (3, None, f"carries no {CLASSIFIER_FILE}"),
        (3, {"names": list(NAMES)}, "needs an 'attributes' list"),
        (3, {"attributes": ["Bald", "Bald", "Smiling"]}, "names an attribute twice"),
        (3, {"attributes": list(NAMES), "std": [0, 1, 1]}, "bad input_size, mean or std"),
    ],
)  # fmt: skip
def test_bad_classifiers_are_one_line(tmp_path: Path, outputs: int, meta, words: str) -> None:
    path = save(tmp_path / "c.pt", outputs, meta)
    with pytest.raises(ModelError) as info:
        load_torchscript_classifier(path, tiny_generator())
    assert words in str(info.value) and "\n" not in str(info.value)


def test_missing_and_foreign_files(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="file not found"):
        load_torchscript_classifier(tmp_path / "none.pt", tiny_generator())
    (tmp_path / "junk.pt").write_bytes(b"not a model")
    with pytest.raises(ModelError, match="not a TorchScript archive"):
        load_torchscript_classifier(tmp_path / "junk.pt", tiny_generator())


def reference_folder(tmp_path: Path, with_d: bool) -> Path:
    folder = tmp_path / "experiment"
    weights = save_reference_folder(folder, tiny_generator(), 3)
    if with_d:
        settings = json.loads((folder / "setting.txt").read_text())
        settings.update(dis_dim=8, dis_fc_dim=16, dis_layers=3)
        (folder / "setting.txt").write_text(json.dumps(settings))
        torch.manual_seed(2)
        d = Discriminators(dim=8, fc_dim=16, fc_acti="relu", n_layers=3, img_size=32, n_attrs=3)
        obj = torch.load(weights, weights_only=True)
        obj["D"] = {"module." + k: v for k, v in d.state_dict().items()}  # DataParallel keys
        torch.save(obj, weights)
    return folder


def test_the_discriminator_head_of_a_reference_folder(tmp_path: Path) -> None:
    folder = reference_folder(tmp_path, with_d=True)
    generator = load_generator(folder)
    clf = discriminator_classifier(folder, generator)
    assert clf is not None and "fc_cls" in clf.description
    torch.manual_seed(2)
    d = Discriminators(dim=8, fc_dim=16, fc_acti="relu", n_layers=3, img_size=32, n_attrs=3)
    d.eval()
    x = torch.rand(2, 3, 32, 32)
    with torch.no_grad():
        assert torch.allclose(clf(x), torch.sigmoid(d(x * 2 - 1)[1]), atol=1e-5)
    assert resolve_classifier(None, str(folder), folder, generator) is not None


def test_a_reference_folder_without_d_has_no_classifier(tmp_path: Path) -> None:
    folder = reference_folder(tmp_path, with_d=False)
    generator = load_generator(folder)
    assert discriminator_classifier(folder, generator) is None
    assert resolve_classifier(None, str(folder), folder, generator) is None


def test_the_shipped_classifier_reads_the_shipped_attributes() -> None:
    torch.manual_seed(0)
    g = AttGANGenerator.from_settings({**TINY, "img_size": 64, "enc_layers": 4, "dec_layers": 4},
                                      ATTRIBUTES)  # fmt: skip
    clf = resolve_classifier(None, "builtin:synthfaces", shipped_classifier_path(), g)
    assert clf is not None and clf(torch.rand(2, 3, 64, 64)).shape == (2, len(ATTRIBUTES))


class BatchDependent(MeanColour):
    """What a BatchNorm traced in training mode does: each image judged against its batch."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        m = x.mean(dim=(2, 3))
        return self.fc(m - m.mean(dim=0, keepdim=True))


def test_a_classifier_that_depends_on_its_batch_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "c.pt"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.jit.save(
            torch.jit.script(BatchDependent(3)),
            str(path),
            _extra_files={CLASSIFIER_FILE: json.dumps({"attributes": list(NAMES)})},
        )
    with pytest.raises(ModelError, match="differently in another batch.*eval mode"):
        load_torchscript_classifier(path, tiny_generator())
