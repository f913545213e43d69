"""The ceiling benchmark's pieces: what counts as hidden, the averaged edit, the M correction."""

from __future__ import annotations

import math

import torch

from benchmarks.generator.ceiling import corrected_psnr, hidden_parameters, posterior_mean_edit
from sia_audit.generators.training.evaluate import region_psnr
from sia_audit.probes.synthfaces.attributes import ATTRIBUTES, INDEX
from sia_audit.probes.synthfaces.params import IDENTITY_PARAMS, NUISANCE_PARAMS
from sia_audit.probes.synthfaces.renderer import render

FRAME = IDENTITY_PARAMS.index("frame")


def _faces(glasses: float) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(0)
    identity = torch.rand(2, len(IDENTITY_PARAMS), generator=gen)
    nuisance = torch.rand(2, len(NUISANCE_PARAMS), generator=gen)
    a = torch.zeros(2, len(ATTRIBUTES))
    a[:, INDEX["No_Beard"]] = 1.0
    a[:, INDEX["Eyeglasses"]] = glasses
    return identity, nuisance, a


def _with_render(faces: tuple[torch.Tensor, ...]) -> tuple[torch.Tensor, ...]:
    identity, nuisance, a = faces
    return identity, nuisance, a, render(identity, nuisance, a).images


def test_the_frame_is_hidden_without_glasses_and_shows_with_them() -> None:
    gen = torch.Generator().manual_seed(1)
    bare = hidden_parameters(*_with_render(_faces(0.0)), gen)
    worn = hidden_parameters(*_with_render(_faces(1.0)), gen)
    assert bare[:, FRAME].all()
    assert not worn[:, FRAME].any()
    assert not bare[:, IDENTITY_PARAMS.index("eye_dx")].any()  # the eyes always show


def test_the_averaged_edit_is_the_truth_where_nothing_is_hidden_and_blurs_where_it_is() -> None:
    identity, nuisance, a = _faces(0.0)
    b = a.clone()
    b[:, INDEX["Eyeglasses"]] = 1.0
    gen = torch.Generator().manual_seed(2)
    x, truth = render(identity, nuisance, a).images, render(identity, nuisance, b).images
    nothing = torch.zeros(identity.shape, dtype=torch.bool)
    same, dropped = posterior_mean_edit(identity, nuisance, a, b, x, truth, nothing, 3, gen)
    assert dropped == 0 and torch.allclose(same, truth, atol=1e-6)
    frame = nothing.clone()
    frame[:, FRAME] = True
    mean, dropped = posterior_mean_edit(identity, nuisance, a, b, x, truth, frame, 8, gen)
    assert dropped == 0
    mask = torch.ones(2, 1, 64, 64)
    assert region_psnr(mean, truth, mask) < 60.0  # the frame's colour and shape are unknown


def test_the_sample_correction_adds_back_what_m_draws_cost() -> None:
    truth = torch.zeros(1, 3, 4, 4)
    estimate = torch.full((1, 3, 4, 4), 0.1)
    mask = torch.ones(1, 1, 4, 4)
    assert math.isclose(
        corrected_psnr(estimate, truth, mask, 4), 20.0 + 10 * math.log10(1.25), rel_tol=1e-6
    )
