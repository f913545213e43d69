"""The held-out suite's training loops: they train, stop when asked, and keep schedules."""

from __future__ import annotations

import math
from collections.abc import Callable

import pytest
import torch
from torch import Tensor, nn

from benchmarks.validity import heldout_loop
from benchmarks.validity.heldout_loop import (
    add_noise,
    blur,
    cutmix,
    erase,
    fit_adadelta_steps,
    fit_adafactor_blur,
    fit_adagrad_crop,
    fit_adam_erase,
    fit_adam_plateau,
    fit_adamax_restarts,
    fit_adamw_aug,
    fit_adamw_noise,
    fit_amsgrad_saturation,
    fit_nadam_cutmix,
    fit_radam_smooth,
    fit_rmsprop_aug,
    fit_sgd_aug,
    fit_sgd_mixup,
    fit_sgd_rotate,
    mixup,
    resized_crop,
    rotate,
    saturate,
)
from scripts.training import Batch

LOOPS = [fit_sgd_aug, fit_adamw_aug, fit_rmsprop_aug, fit_sgd_mixup, fit_adam_erase,
         fit_nadam_cutmix, fit_radam_smooth, fit_adamax_restarts, fit_adam_plateau,
         fit_adagrad_crop, fit_adamw_noise, fit_adadelta_steps, fit_sgd_rotate,
         fit_adafactor_blur, fit_amsgrad_saturation]  # fmt: skip


class Brightness(nn.Module):
    """One logit from the mean pixel: enough to learn 'bright or dark'."""

    def __init__(self) -> None:
        super().__init__()
        self.norm = nn.BatchNorm2d(3)
        self.head = nn.Linear(3, 1)

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.norm(x).mean(dim=(2, 3)))[:, 0]


def batches(step: int) -> Batch:
    rng = torch.Generator().manual_seed(step)
    y = (torch.rand(32, generator=rng) < 0.5).float()
    x = torch.rand(32, 3, 16, 16, generator=rng) * 0.5 - 0.5 + y[:, None, None, None] * 0.5
    return Batch(x, y)


def accuracy(model: nn.Module) -> dict[str, float]:
    batch = batches(10_000)
    with torch.no_grad():
        return {"acc": float(((model(batch.x) > 0).float() == batch.y).float().mean())}


@pytest.mark.parametrize("loop", LOOPS)
def test_each_loop_learns_a_separable_task_and_returns_eval_mode(loop) -> None:
    torch.manual_seed(0)
    lines: list[str] = []
    model = loop(Brightness(), batches, 600, lines.append, name="toy", eval_every=300,
                 evaluate=accuracy)  # fmt: skip
    assert not model.training
    assert accuracy(model)["acc"] >= 0.95
    assert len(lines) == 2 and "step 600/600" in lines[-1]


@pytest.mark.parametrize("loop", LOOPS)
def test_each_loop_stops_where_told(loop) -> None:
    lines: list[str] = []
    loop(Brightness(), batches, 100, lines.append, name="toy", eval_every=10,
         evaluate=accuracy, stop=lambda step, figures: step >= 30)  # fmt: skip
    assert [line.split()[2] for line in lines] == ["10/100", "20/100", "30/100"]


def rates_of(
    monkeypatch: pytest.MonkeyPatch, optimiser: type[torch.optim.Optimizer]
) -> list[float]:
    """The learning rate of every step the optimiser class takes from here on."""
    rates: list[float] = []
    step = optimiser.step

    def record(self: torch.optim.Optimizer, *args: object, **kwargs: object) -> object:
        rates.append(self.param_groups[0]["lr"])
        return step(self, *args, **kwargs)

    monkeypatch.setattr(optimiser, "step", record)
    return rates


def test_adamw_warms_up_then_decays_linearly_to_zero(monkeypatch: pytest.MonkeyPatch) -> None:
    rates = rates_of(monkeypatch, torch.optim.AdamW)
    fit_adamw_aug(Brightness(), batches, 50, lambda line: None, name="toy")
    peak = heldout_loop.ADAMW_LR
    warm = round(heldout_loop.WARMUP * 50)
    assert rates[:warm] == pytest.approx([peak * (i + 1) / warm for i in range(warm)])
    assert max(rates) == pytest.approx(peak) and rates[warm] == pytest.approx(peak)
    assert rates[-1] == pytest.approx(peak / (50 - warm))
    assert all(a >= b for a, b in zip(rates[warm:], rates[warm + 1 :], strict=False))


def test_rmsprop_warms_up_then_decays_exponentially_to_a_tenth(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rates = rates_of(monkeypatch, torch.optim.RMSprop)
    steps = 100
    fit_rmsprop_aug(Brightness(), batches, steps, lambda line: None, name="toy")
    peak, warm = heldout_loop.RMSPROP_LR, round(heldout_loop.RMSPROP_WARMUP * steps)
    assert rates[:warm] == pytest.approx([peak * (i + 1) / warm for i in range(warm)])
    assert max(rates) == pytest.approx(peak)
    ratios = [b / a for a, b in zip(rates[warm:], rates[warm + 1 :], strict=False)]
    assert ratios == pytest.approx([ratios[0]] * len(ratios))  # one factor per step
    last = (steps - 1 - warm) / (steps - warm)
    assert rates[-1] == pytest.approx(peak * heldout_loop.RMSPROP_FLOOR**last)


def test_step_sgd_warms_up_then_drops_tenfold_twice(monkeypatch: pytest.MonkeyPatch) -> None:
    rates = rates_of(monkeypatch, torch.optim.SGD)
    steps = 100
    fit_sgd_mixup(Brightness(), batches, steps, lambda line: None, name="toy")
    peak, warm = heldout_loop.STEP_LR, round(heldout_loop.STEP_WARMUP * steps)
    assert rates[:warm] == pytest.approx([peak * (i + 1) / warm for i in range(warm)])
    first, second = (round(share * steps) for share in heldout_loop.STEP_AT)
    assert rates[warm:first] == pytest.approx([peak] * (first - warm))
    assert rates[first:second] == pytest.approx([peak / 10] * (second - first))
    assert rates[second:] == pytest.approx([peak / 100] * (steps - second))


def test_adam_halves_its_rate_every_fifth_of_the_steps(monkeypatch: pytest.MonkeyPatch) -> None:
    rates = rates_of(monkeypatch, torch.optim.Adam)
    steps = 100
    fit_adam_erase(Brightness(), batches, steps, lambda line: None, name="toy")
    every = round(heldout_loop.HALVE_EVERY * steps)
    want = [heldout_loop.ADAM_LR * 0.5 ** (i // every) for i in range(steps)]
    assert rates == pytest.approx(want)


def test_erasing_fills_one_rectangle_per_chosen_image_and_leaves_the_rest() -> None:
    x = torch.zeros(400, 3, 32, 32)
    out = erase(x, torch.Generator().manual_seed(0))
    changed = (out != 0).any(dim=1)  # (N, H, W)
    hit = changed.flatten(1).any(dim=1)
    assert 0.4 < float(hit.float().mean()) < 0.6  # about half the images
    low, high = heldout_loop.ERASE_AREA
    for mask in changed[hit]:
        rows, cols = mask.any(dim=1).nonzero(), mask.any(dim=0).nonzero()
        h = int(rows.max() - rows.min() + 1)
        w = int(cols.max() - cols.min() + 1)
        assert int(mask.sum()) == h * w  # one filled rectangle
        assert low * 0.5 <= h * w / (32 * 32) <= high * 1.5  # rounding at 32 px
    assert torch.equal(x, torch.zeros_like(x))  # the input is not changed in place


def test_mixup_mixes_images_and_labels_with_one_weight() -> None:
    import random

    x = torch.arange(4.0)[:, None, None, None].expand(4, 1, 2, 2)
    y = torch.tensor([0.0, 1.0, 0.0, 1.0])
    mx, my = mixup(x, y, 0.2, torch.Generator().manual_seed(0), random.Random(0))
    # each mixed image is lam * x_i + (1 - lam) * x_j for one j: its label mixes alike
    lam = random.Random(0).betavariate(0.2, 0.2)
    perm = torch.randperm(4, generator=torch.Generator().manual_seed(0))
    assert torch.allclose(mx, lam * x + (1 - lam) * x[perm])
    assert torch.allclose(my, lam * y + (1 - lam) * y[perm])


def test_nadam_anneals_its_rate_by_a_cosine_to_zero(monkeypatch: pytest.MonkeyPatch) -> None:
    rates = rates_of(monkeypatch, torch.optim.NAdam)
    steps = 100
    fit_nadam_cutmix(Brightness(), batches, steps, lambda line: None, name="toy")
    peak = heldout_loop.NADAM_LR
    want = [peak * (1 + math.cos(math.pi * i / steps)) / 2 for i in range(steps)]
    assert rates == pytest.approx(want)


def test_radam_decays_its_rate_as_a_square_to_zero_and_spares_biases(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rates = rates_of(monkeypatch, torch.optim.RAdam)
    made: list[torch.optim.Optimizer] = []
    init = torch.optim.RAdam.__init__

    def keep(self: torch.optim.Optimizer, *args: object, **kwargs: object) -> None:
        init(self, *args, **kwargs)
        made.append(self)

    monkeypatch.setattr(torch.optim.RAdam, "__init__", keep)
    steps = 100
    fit_radam_smooth(Brightness(), batches, steps, lambda line: None, name="toy")
    peak = heldout_loop.RADAM_LR
    assert rates == pytest.approx([peak * (1 - i / steps) ** 2 for i in range(steps)])
    [opt] = made
    decay = [(g["weight_decay"], [p.dim() for p in g["params"]]) for g in opt.param_groups]
    assert decay == [(heldout_loop.RADAM_DECAY, [2]), (0.0, [1, 1, 1])]  # weight; norm and bias
    assert all(g["decoupled_weight_decay"] for g in opt.param_groups)


def test_adamax_restarts_its_cosine_twice_and_ends_near_zero(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rates = rates_of(monkeypatch, torch.optim.Adamax)
    steps = 99
    fit_adamax_restarts(Brightness(), batches, steps, lambda line: None, name="toy")
    peak, cycle = heldout_loop.ADAMAX_LR, steps // heldout_loop.RESTARTS
    one = [peak * (1 + math.cos(math.pi * i / cycle)) / 2 for i in range(cycle)]
    assert rates == pytest.approx(one * heldout_loop.RESTARTS)
    assert [i for i, r in enumerate(rates) if r == pytest.approx(peak)] == [0, 33, 66]


class Stalled(nn.Module):
    """Logit 0 for every image, whatever its weight: the training loss is log 2 at every step."""

    def __init__(self) -> None:
        super().__init__()
        self.w = nn.Parameter(torch.zeros(()))

    def forward(self, x: Tensor) -> Tensor:
        return self.w * 0 * x.mean(dim=(1, 2, 3))


def test_adam_plateau_halves_the_rate_after_two_windows_without_improvement(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rates = rates_of(monkeypatch, torch.optim.Adam)
    fit_adam_plateau(Stalled(), batches, 260, lambda line: None, name="toy")
    window, patience = heldout_loop.PLATEAU_WINDOW, heldout_loop.PLATEAU_PATIENCE
    assert window * (patience + 2) == 100
    # The first window sets the best loss; the rate is halved at the end of the third window
    # after it that did not improve on it (patience 2), and again three windows later.
    peak = heldout_loop.PLATEAU_LR
    expected = [peak] * 100 + [peak / 2] * 75 + [peak / 4] * 75 + [peak / 8] * 10
    assert rates == pytest.approx(expected)


def test_cutmix_pastes_one_box_and_mixes_labels_by_its_area() -> None:
    import random

    x = torch.zeros(64, 3, 32, 32)
    x[32:] = 1.0  # one half of the batch black, the other white
    y = (torch.arange(64) >= 32).float()
    shares = []
    for seed in range(20):
        out, target = cutmix(x, y, 1.0, torch.Generator().manual_seed(seed), random.Random(seed))
        moved = (out != x).any(dim=1)  # (N, H, W): where a partner's pixels came in
        box = moved.any(dim=0)
        rows, cols = box.any(dim=1).nonzero(), box.any(dim=0).nonzero()
        if len(rows):  # one rectangle, the same for every image
            top, left = int(rows.min()), int(cols.min())
            h, w = int(rows.max()) - top + 1, int(cols.max()) - left + 1
            assert int(box.sum()) == h * w
            assert not moved[:, :top].any() and not moved[:, top + h :].any()
        # each image's label is its own and its partner's, weighted by the pixels each gave
        assert torch.allclose(target, out.mean(dim=(1, 2, 3)), atol=1e-6)
        shares.append(float(box.float().mean()))
    assert min(shares) < 0.2 and max(shares) > 0.5  # the box's area varies with the draw


def test_adagrad_keeps_its_rate_from_the_first_step_to_the_last(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rates = rates_of(monkeypatch, torch.optim.Adagrad)
    fit_adagrad_crop(Brightness(), batches, 40, lambda line: None, name="toy")
    assert rates == pytest.approx([heldout_loop.ADAGRAD_LR] * 40)


def test_resized_crops_keep_a_share_of_the_image_inside_it_and_fill_the_frame() -> None:
    n, size = 256, 64
    # each pixel holds its own column (channel 0) and row (channel 1) in [0, 1]
    cols = torch.linspace(0, 1, size).expand(size, size)
    x = torch.stack([cols, cols.T, torch.zeros(size, size)]).expand(n, 3, size, size)
    out = resized_crop(x.contiguous(), torch.Generator().manual_seed(0))
    assert out.shape == x.shape
    width = out[:, 0, :, -1].mean(1) - out[:, 0, :, 0].mean(1)  # share of the columns kept
    height = out[:, 1, -1, :].mean(1) - out[:, 1, 0, :].mean(1)
    area, aspect = width * height, width / height
    low, high = heldout_loop.CROP_AREA
    # the frame's outer pixel centres sit half a source pixel in from the crop's edges
    assert area.min() > low * 0.95 and area.max() <= high
    assert area.min() < low + 0.05 and area.max() > high - 0.05  # the draw spans the range
    assert aspect.min() > heldout_loop.CROP_ASPECT[0] * 0.95
    assert aspect.max() < heldout_loop.CROP_ASPECT[1] * 1.05
    assert out[:, :2].min() >= 0 and out[:, :2].max() <= 1  # inside the image, no padding


def test_the_one_cycle_rises_to_its_peak_at_30_percent_then_falls_to_almost_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rates = rates_of(monkeypatch, torch.optim.AdamW)
    betas: list[float] = []
    step = torch.optim.AdamW.step

    def record(self: torch.optim.Optimizer, *args: object, **kwargs: object) -> object:
        betas.append(self.param_groups[0]["betas"][0])
        return step(self, *args, **kwargs)

    monkeypatch.setattr(torch.optim.AdamW, "step", record)
    fit_adamw_noise(Brightness(), batches, 100, lambda line: None, name="toy")
    peak = heldout_loop.ONECYCLE_LR
    top = max(range(100), key=rates.__getitem__)
    assert rates[0] == pytest.approx(peak / 25)
    assert rates[top] == pytest.approx(peak, rel=1e-3)
    assert abs(top - heldout_loop.ONECYCLE_RISE * 100) <= 1
    assert rates[-1] < peak / 1e4
    # momentum runs the other way: highest at the ends, lowest at the peak rate
    assert betas[0] == pytest.approx(0.95) and betas[top] == pytest.approx(0.85, abs=1e-3)


def test_adadelta_steps_its_rate_down_by_0_7_fourteen_times(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rates = rates_of(monkeypatch, torch.optim.Adadelta)
    fit_adadelta_steps(Brightness(), batches, 140, lambda line: None, name="toy")
    assert len(rates) == 140
    for epoch in range(heldout_loop.ADADELTA_EPOCHS):
        expected = heldout_loop.ADADELTA_LR * heldout_loop.ADADELTA_GAMMA**epoch
        assert rates[10 * epoch : 10 * epoch + 10] == pytest.approx([expected] * 10)


def test_pixel_noise_has_the_stated_spread_and_no_bias() -> None:
    x = torch.zeros(64, 3, 64, 64)
    out = add_noise(x, torch.Generator().manual_seed(0))
    # normalised with mean = std = 0.5: NOISE_STD in [0, 1] units is twice that here
    assert float(out.std()) == pytest.approx(2 * heldout_loop.NOISE_STD, rel=0.01)
    assert abs(float(out.mean())) < 1e-3
    again = add_noise(x, torch.Generator().manual_seed(0))
    assert torch.equal(out, again)  # drawn from the loop's seeded generator only


def test_sgd_rotate_decays_exponentially_from_its_rate_to_a_hundredth(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rates = rates_of(monkeypatch, torch.optim.SGD)
    fit_sgd_rotate(Brightness(), batches, 100, lambda line: None, name="toy")
    assert len(rates) == 100
    assert rates[0] == pytest.approx(heldout_loop.DECAY_LR)
    ratios = [b / a for a, b in zip(rates, rates[1:], strict=False)]
    assert ratios == pytest.approx([ratios[0]] * 99)  # the same factor every step
    # after the last step the rate would reach DECAY_FLOOR of the first
    assert rates[-1] * ratios[0] == pytest.approx(heldout_loop.DECAY_LR * heldout_loop.DECAY_FLOOR)


def test_rotations_turn_by_at_most_the_stated_angle_about_the_centre() -> None:
    # one bright column through the centre: its tilt after turning is the angle drawn
    x = -torch.ones(256, 3, 65, 65)
    x[:, :, :, 32] = 1.0
    out = rotate(x, torch.Generator().manual_seed(0))
    rows = torch.tensor([12.0, 52.0])
    cols = out[:, 0, 12::40, :].argmax(dim=2).float()  # the column's place in rows 12 and 52
    angle = torch.rad2deg(torch.atan((cols[:, 0] - cols[:, 1]) / (rows[1] - rows[0])))
    limit = heldout_loop.ROTATE_DEG
    assert angle.abs().max() <= limit + 1.5  # a pixel's rounding at 40 rows: 1.4 degrees
    assert angle.max() > limit - 2 and angle.min() < -(limit - 2)  # the draw spans the range
    assert torch.allclose(out[:, :, 32, 32], x[:, :, 32, 32], atol=0.05)  # the centre stays
    assert torch.equal(out, rotate(x, torch.Generator().manual_seed(0)))


@pytest.mark.parametrize(
    ("name", "loop", "other"),
    [
        ("add_noise", fit_adamw_noise, fit_adagrad_crop),
        ("rotate", fit_sgd_rotate, fit_sgd_aug),
        ("blur", fit_adafactor_blur, fit_sgd_rotate),
        ("saturate", fit_amsgrad_saturation, fit_adafactor_blur),
    ],
)
def test_only_its_own_loop_applies_an_augmentation(
    monkeypatch: pytest.MonkeyPatch, name: str, loop: Callable, other: Callable
) -> None:
    calls: list[int] = []

    def spy(x: torch.Tensor, rng: torch.Generator) -> torch.Tensor:
        calls.append(x.shape[0])
        return x

    monkeypatch.setattr(heldout_loop, name, spy)
    loop(Brightness(), batches, 3, lambda line: None, name="toy")
    assert len(calls) == 3
    other(Brightness(), batches, 3, lambda line: None, name="toy")
    assert len(calls) == 3


def rates_over_100_steps(
    monkeypatch: pytest.MonkeyPatch, optimiser: type[torch.optim.Optimizer], loop: Callable
) -> list[float]:
    """The learning rate of each of the 100 steps `loop` takes on the toy task."""
    rates = rates_of(monkeypatch, optimiser)
    loop(Brightness(), batches, 100, lambda line: None, name="toy")
    assert len(rates) == 100
    return rates


def test_adafactor_warms_up_over_a_tenth_then_falls_by_a_cosine_to_zero(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rates = rates_over_100_steps(monkeypatch, torch.optim.Adafactor, fit_adafactor_blur)
    peak = heldout_loop.ADAFACTOR_LR
    assert rates[:10] == pytest.approx([peak * (i + 1) / 10 for i in range(10)])
    assert rates[10] == pytest.approx(peak)
    assert rates[55] == pytest.approx(peak * 0.5 * (1 + math.cos(math.pi * 45 / 90)))
    assert rates[-1] == pytest.approx(peak * 0.5 * (1 + math.cos(math.pi * 89 / 90)))
    assert rates[-1] < peak * 0.001


def test_blur_smooths_about_half_the_images_and_keeps_their_mean() -> None:
    g = torch.Generator().manual_seed(0)
    x = torch.rand(400, 3, 16, 16, generator=g) * 2 - 1
    out = blur(x, torch.Generator().manual_seed(1))
    changed = (out - x).flatten(1).abs().amax(dim=1) > 0
    assert 0.4 < float(changed.float().mean()) < 0.6  # BLUR_P of them
    assert torch.equal(out[~changed], x[~changed])
    # a blur lowers the pixel-to-pixel spread of noise and keeps each image's mean (edges aside)
    assert float(out[changed].std()) < 0.9 * float(x[changed].std())
    inner = (slice(None), slice(None), slice(4, -4), slice(4, -4))
    flat = torch.full((1, 3, 16, 16), 0.3)
    assert torch.allclose(blur(flat.expand(8, -1, -1, -1).clone(), g), flat.expand(8, -1, -1, -1))
    assert out[changed][inner].mean() == pytest.approx(float(x[changed][inner].mean()), abs=0.01)
    assert torch.equal(out, blur(x, torch.Generator().manual_seed(1)))


def test_amsgrad_warms_up_over_a_twentieth_then_falls_as_one_over_root_step(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rates = rates_over_100_steps(monkeypatch, torch.optim.Adam, fit_amsgrad_saturation)
    peak = heldout_loop.AMSGRAD_LR
    assert rates[:5] == pytest.approx([peak * (i + 1) / 5 for i in range(5)])
    assert rates[5] == pytest.approx(peak * (5 / 6) ** 0.5)
    assert rates[-1] == pytest.approx(peak * (5 / 100) ** 0.5)  # falls by sqrt(20) by the end


def test_the_amsgrad_loop_keeps_the_second_moment_s_maximum() -> None:
    opt, _ = heldout_loop._amsgrad_rsqrt(Brightness(), 10)
    assert opt.param_groups[0]["amsgrad"] is True and opt.param_groups[0]["weight_decay"] == 0


def test_saturation_keeps_grey_and_each_pixel_s_luma_and_scales_colour() -> None:
    g = torch.Generator().manual_seed(0)
    grey = torch.rand(64, 1, 8, 8, generator=g).expand(-1, 3, -1, -1) * 2 - 1
    assert torch.allclose(saturate(grey, g), grey, atol=1e-6)  # a grey image has no colour
    x = torch.rand(256, 3, 8, 8, generator=g) * 0.5 - 0.25  # mid colours: nothing clipped
    out = saturate(x, torch.Generator().manual_seed(1))
    luma = torch.tensor(heldout_loop.LUMA)[None, :, None, None]
    assert torch.allclose((out * luma).sum(1), (x * luma).sum(1), atol=1e-5)
    spread = lambda t: (t - (t * luma).sum(1, keepdim=True)).flatten(1).norm(dim=1)  # noqa: E731
    factor = spread(out) / spread(x)  # one factor per image
    low, high = heldout_loop.SATURATION
    assert factor.min() >= low - 1e-4 and factor.max() <= high + 1e-4
    assert factor.min() < low + 0.05 and factor.max() > high - 0.05  # the draw spans the range
    assert torch.equal(out, saturate(x, torch.Generator().manual_seed(1)))
    assert saturate(torch.ones(2, 3, 4, 4), g).max() <= 1.0  # clipped to the pixel range
