"""Vis control: the reference's random blur recipe and what it does to frames."""

from __future__ import annotations

import collections

import numpy as np
from cosmos_transfer.modalities.vis import Bilateral, BlurPlan, Gaussian, apply_blur_plan, draw_blur_plan


def test_plan_draws_follow_the_random_blur_config():
    plans = [draw_blur_plan(np.random.default_rng(seed)) for seed in range(4000)]
    kinds = collections.Counter(tuple(type(f).__name__ for f in plan.filters) for plan in plans)
    assert abs(kinds[("Bilateral",)] / 4000 - 0.5) < 0.04
    assert abs(kinds[("Gaussian",)] / 4000 - 0.3) < 0.04
    assert abs(kinds[("Bilateral", "Gaussian")] / 4000 - 0.2) < 0.04
    assert {plan.inner_downscale for plan in plans} == {1, 2, 3, 4}
    assert {plan.downup_factor for plan in plans} == set(range(4, 18))
    bilaterals = [f for plan in plans for f in plan.filters if isinstance(f, Bilateral)]
    gaussians = [f for plan in plans for f in plan.filters if isinstance(f, Gaussian)]
    assert {f.d for f in bilaterals} == set(range(15, 50))
    assert min(f.sigma_color for f in bilaterals) == 100 and max(f.sigma_color for f in bilaterals) == 299
    assert min(f.sigma_space for f in bilaterals) == 50 and max(f.sigma_space for f in bilaterals) == 149
    assert {f.passes for f in bilaterals} == {1, 2, 3}
    assert {f.ksize for f in gaussians} == {21, 23, 25, 27, 29}
    assert all(10.5 <= f.sigma < 14.5 for f in gaussians)


def test_flat_frames_stay_flat():
    frames = np.full((2, 48, 80, 3), 77, np.uint8)
    plan = BlurPlan((Bilateral(15, 100, 50, 1), Gaussian(21, 10.5)), inner_downscale=2, downup_factor=4)
    out = apply_blur_plan(frames, plan)
    assert out.shape == frames.shape and int(np.abs(out.astype(int) - 77).max()) <= 1


def test_a_step_edge_is_smeared():
    frames = np.zeros((1, 48, 80, 3), np.uint8)
    frames[:, :, 40:] = 255
    out = apply_blur_plan(frames, BlurPlan((Gaussian(21, 12.0),), inner_downscale=1, downup_factor=8))
    row = out[0, 24, :, 0].astype(int)
    assert row[0] < 40 and row[-1] > 215  # the far sides keep their levels
    assert ((row > 60) & (row < 195)).sum() >= 8  # a wide ramp replaces the one-pixel step
