"""report.json's schema, read back: `SCHEMA_VERSION`, `load`, and a typed reader for each block.

`formats/json_report.report_dict` writes a report; everything that reads one back (every format,
so `sia-audit render`, and the regression gate of `compare` and `run --baseline`) goes through
`ReportRecord` here, so the key names live in one place. No torch: a saved report re-renders
years later without it. A missing key or a wrong type is one `SchemaError` (a DataError) naming
its path, e.g. `figures.sensitivity.sdar_s: missing`. What older reports of schema 1 lack
(`gallery`, `protected`, `timings`, `sensitivity.unmeasurable`, `figures.editability`,
`figures.path_attribution`, `figures.weighted_sensitivity`, `figures.counterfactual_flips`, the
per-probe `effects`, `flip_loss` and `flip_changed`, `flags`, `onnx`) reads as empty or None.
"""

from sia_audit.report_schema.fields import SchemaError, damaged
from sia_audit.report_schema.figures import (
    AttackConfigRecord,
    AttackRecord,
    AttributeBlock,
    AttributeEditabilityRecord,
    EditabilityBlock,
    EstimateRecord,
    FlagRecord,
    GroupRecord,
    OnnxBlock,
    OnnxParityRecord,
    SensitivityBlock,
    SubpopulationBlock,
    TruthRecord,
)
from sia_audit.report_schema.report import (
    SCHEMA_VERSION,
    BootstrapRecord,
    GalleryRecord,
    GateRecord,
    ProbesBlock,
    ProvenanceBlock,
    ReportRecord,
    TimingsBlock,
    load,
)

__all__ = [
    "SCHEMA_VERSION",
    "AttackConfigRecord",
    "AttackRecord",
    "AttributeBlock",
    "AttributeEditabilityRecord",
    "BootstrapRecord",
    "EditabilityBlock",
    "EstimateRecord",
    "FlagRecord",
    "GalleryRecord",
    "GateRecord",
    "GroupRecord",
    "OnnxBlock",
    "OnnxParityRecord",
    "ProbesBlock",
    "ProvenanceBlock",
    "ReportRecord",
    "SchemaError",
    "SensitivityBlock",
    "SubpopulationBlock",
    "TimingsBlock",
    "TruthRecord",
    "damaged",
    "load",
]
