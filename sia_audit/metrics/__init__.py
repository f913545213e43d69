"""Metrics: pure functions from per-probe tensors to figures with bootstrap intervals."""

from __future__ import annotations

from sia_audit.metrics.accuracy import (
    FAILURE_THRESHOLD,
    accuracy,
    attack_success_rate,
    attack_success_rate_difference,
    failure_rate,
    keypoint_attack_success_rate,
    mean_nme,
    nme,
)
from sia_audit.metrics.bootstrap import (
    BootstrapConfig,
    Replicates,
    bootstrap,
    excludes_zero,
    mean_estimate,
    paired_bootstrap,
    paired_mean_difference,
    resample_indices,
)
from sia_audit.metrics.effect import AttributeEffects, attribute_effect
from sia_audit.metrics.estimate import EmptyMetricError, Estimate
from sia_audit.metrics.image_quality import PSNR_CAP_DB, mean_psnr, mean_ssim, psnr, ssim
from sia_audit.metrics.sensitivity import (
    GroupSensitivity,
    Sensitivity,
    SubpopulationSensitivity,
    histogram_values,
    sdar_value,
    sensitivity,
    sensitivity_difference,
    single_attribute_sensitivity,
    subpopulation_sensitivity,
)

__all__ = [
    "FAILURE_THRESHOLD",
    "PSNR_CAP_DB",
    "AttributeEffects",
    "BootstrapConfig",
    "EmptyMetricError",
    "Estimate",
    "GroupSensitivity",
    "Replicates",
    "Sensitivity",
    "SubpopulationSensitivity",
    "accuracy",
    "attack_success_rate",
    "attack_success_rate_difference",
    "attribute_effect",
    "bootstrap",
    "excludes_zero",
    "failure_rate",
    "histogram_values",
    "keypoint_attack_success_rate",
    "mean_estimate",
    "mean_nme",
    "mean_psnr",
    "mean_ssim",
    "nme",
    "paired_bootstrap",
    "paired_mean_difference",
    "psnr",
    "resample_indices",
    "sdar_value",
    "sensitivity",
    "sensitivity_difference",
    "single_attribute_sensitivity",
    "ssim",
    "subpopulation_sensitivity",
]
