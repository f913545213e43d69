"""How far each flip moves the attribute classifier's reading of every other attribute, on the
held-out suite's audit probes: what the audit's flip figures read to leave out a flip that
redraws the label (sia_audit.defaults.MAX_LABEL_LEAK).

Audits written before the audit left such flips out do not hold it; the scorer reads it from
the file this writes (committed, with the sha256 of the generator, classifier and probe set it
was measured with), so seen rounds can be scored under the rule as it ships. The file also keeps
each move averaged over every probe (`mean_leaks_to`), the figure the rule read before it
averaged per class of the label, so that audits written under that rule can be checked too.

    PYTHONPATH=. .venv/bin/python -m benchmarks.validity.label_leak
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import torch

from benchmarks import paths
from sia_audit.app.inputs import BUILTIN, generator_path
from sia_audit.fsutil import atomic_write_text, sha256_of
from sia_audit.generators.checkpoint import load_generator
from sia_audit.generators.classifiers import resolve_classifier, shipped_classifier_path
from sia_audit.generators.editability import measure_editability
from sia_audit.probes.synthetic import SynthProbes

OUT = paths.LOGS / "heldout_label_leak.json"
PROBES = {"count": 256, "seed": 0, "size": 64}  # the suite's AUDIT_POLICY


def measure() -> dict:
    """The leak of every flip into every other attribute, with what it was measured on."""
    path = generator_path(BUILTIN)
    generator = load_generator(path)
    classifier = resolve_classifier(None, BUILTIN, path, generator)
    assert classifier is not None
    probes = SynthProbes(**PROBES)
    seen: dict[tuple[int, int], torch.Tensor] = {}  # (first probe, flipped attribute) -> probs

    def see(idx: list[int], j: int, images: torch.Tensor) -> None:
        seen[idx[0], j] = classifier(images)

    e = measure_editability(probes, generator, classifier, see=see)
    starts = sorted({start for start, _ in seen})
    p_rec = torch.cat([seen[s, -1] for s in starts])  # (N, K)
    k = len(generator.attr_names)
    p_flip = torch.cat([torch.stack([seen[s, j] for j in range(k)], 1) for s in starts])
    mean_moves = (p_flip - p_rec[:, None]).abs().mean(dim=0)  # [flipped, moved]
    names = generator.attr_names
    return {
        "made_by": "benchmarks/validity/label_leak.py",
        "generator_sha256": sha256_of(path),
        "classifier_sha256": sha256_of(shipped_classifier_path()),
        "probe_manifest_sha256": probes.manifest_sha256(),
        "probes": PROBES,
        "leaks_to": {
            a.attribute: {k: round(v, 4) for k, v in a.leaks_to.items()} for a in e.attributes
        },  # fmt: skip
        "mean_leaks_to": {
            a: {
                m: round(float(mean_moves[i, j]), 4)
                for j, m in enumerate(names)
                if m in e.of(a).leaks_to
            }
            for i, a in enumerate(names)
        },  # fmt: skip
    }


def load(path: Path = OUT) -> dict:
    """The committed measurement."""
    return json.loads(path.read_text())


def main() -> None:
    torch.set_num_threads(1)
    t0 = time.time()
    data = measure()
    atomic_write_text(OUT, json.dumps(data, indent=1, sort_keys=True) + "\n")
    print(f"wrote {OUT} in {time.time() - t0:.0f}s")


if __name__ == "__main__":
    main()
