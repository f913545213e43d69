"""Export the demo models in examples/models/ to ONNX, with their contract in the metadata.

ONNX Runtime gives no input gradients, so these files serve only `sia-audit check-onnx` and
`sia-audit run --onnx` (clean accuracy and parity with the torch model). The contract
(`sia_target.json` of the TorchScript archive) is copied into the ONNX model's metadata under
the same name, so the ONNX file is self-describing. The legacy TorchScript exporter is used
(`dynamo=False`): the dynamo exporter needs onnxscript.

    .venv/bin/python scripts/export_onnx.py                  # the two Eyeglasses models
    .venv/bin/python scripts/export_onnx.py keypoints --out-dir /tmp
"""

from __future__ import annotations

import argparse
import json
import warnings
from pathlib import Path

import onnx
import torch

MODELS = Path(__file__).resolve().parents[1] / "examples" / "models"
DEFAULT = ("eyeglasses_biased", "eyeglasses_control")
CONTRACT_FILE = "sia_target.json"
OPSET = 17


def export(source: Path, dest: Path) -> None:
    """One TorchScript demo model to `dest`, batch axis dynamic, contract in the metadata."""
    extra = {CONTRACT_FILE: ""}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # jit and legacy-exporter deprecation notices
        model = torch.jit.load(str(source), map_location="cpu", _extra_files=extra)
        contract = json.loads(extra[CONTRACT_FILE])
        h, w = contract["input_size"]
        example = torch.zeros(2, 3, h, w)
        torch.onnx.export(
            model,
            (example,),
            str(dest),
            dynamo=False,
            opset_version=OPSET,
            input_names=["image"],
            output_names=["output"],
            dynamic_axes={"image": {0: "batch"}, "output": {0: "batch"}},
        )
    proto = onnx.load(str(dest))
    entry = proto.metadata_props.add()
    entry.key, entry.value = CONTRACT_FILE, json.dumps(contract, sort_keys=True)
    proto.producer_name = "sia-audit scripts/export_onnx.py"
    onnx.checker.check_model(proto)
    onnx.save(proto, str(dest))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", default=list(DEFAULT), help="models in examples/models")
    parser.add_argument("--out-dir", type=Path, default=MODELS)
    args = parser.parse_args()
    for name in args.names:
        dest = args.out_dir / f"{name}.onnx"
        export(MODELS / f"{name}.pt", dest)
        print(f"wrote {dest} ({dest.stat().st_size / 1e6:.2f} MB)")


if __name__ == "__main__":
    main()
