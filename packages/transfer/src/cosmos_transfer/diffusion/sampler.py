"""The sampler Transfer1 generation uses: the deterministic "2ab" multistep RES solver on a Karras schedule.

Reference: ``diffusion/diffusion/modules/res_sampler.py::Sampler`` (``solver_option="2ab"``, 35 steps,
sigma_min 0.002, rho 7, ``sample_clean=True``: one last x0 evaluation at sigma_min, so 36 network
evaluations, 72 with guidance) and ``functional/multi_step.py`` / ``runge_kutta.py``
(``reg_x0_euler_step`` for the first step, ``res_x0_rk2_step`` with the previous x0 afterwards; RES is
arXiv 2308.02157). The start sigma is the model's ``sde.sigma_max`` = 80 (the ``Sampler.forward``
default of 70 is overridden by every caller); a partially noised input video starts lower.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from cosmos_transfer.diffusion.edm import SIGMA_MAX

NUM_STEPS = 35
SIGMA_MIN = 0.002
RHO = 7.0
GUIDANCE = 5.0  # transfer.py --guidance default

X0Fn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
"""``(x [B, ...], sigma [B]) -> x0 estimate``, e.g. a guided denoiser."""


def karras_sigmas(
    num_steps: int, sigma_min: float = SIGMA_MIN, sigma_max: float = SIGMA_MAX, rho: float = RHO
) -> torch.Tensor:
    """``num_steps + 1`` decreasing float64 sigmas from ``sigma_max`` to ``sigma_min`` (``get_rev_ts``)."""
    if not 0 < sigma_min < sigma_max:
        raise ValueError(f"need 0 < sigma_min < sigma_max, got {sigma_min} and {sigma_max}")
    ramp = torch.arange(num_steps + 1, dtype=torch.float64) / num_steps
    return (sigma_max ** (1 / rho) + ramp * (sigma_min ** (1 / rho) - sigma_max ** (1 / rho))) ** rho


def euler_x0_step(x: torch.Tensor, sigma: float, sigma_next: float, x0: torch.Tensor) -> torch.Tensor:
    """Exact step of the probability-flow ODE for a constant x0: ``x0 + (sigma_next / sigma) (x - x0)``."""
    return (sigma - sigma_next) / sigma * x0 + sigma_next / sigma * x


def res_2ab_step(
    x: torch.Tensor,
    sigma: float,
    sigma_next: float,
    x0: torch.Tensor,
    sigma_previous: float,
    x0_previous: torch.Tensor,
) -> torch.Tensor:
    """Second-order exponential Adams-Bashforth step in log-sigma time, extrapolating x0 linearly from the
    previous evaluation."""
    s, t, m = (-torch.log(torch.tensor(v, dtype=torch.float64)) for v in (sigma, sigma_next, sigma_previous))
    dt = t - s
    c2 = (m - s) / dt
    phi1 = torch.expm1(-dt) / -dt
    phi2 = (phi1 - 1.0) / -dt
    b1 = phi1 - phi2 / c2
    b2 = phi2 / c2
    return torch.exp(-dt) * x + dt * (b1 * x0 + b2 * x0_previous)


@torch.no_grad()
def sample(
    x0_fn: X0Fn,
    x_sigma_max: torch.Tensor,
    num_steps: int = NUM_STEPS,
    sigma_min: float = SIGMA_MIN,
    sigma_max: float = SIGMA_MAX,
    rho: float = RHO,
) -> torch.Tensor:
    """Solve from ``x_sigma_max`` (noise at ``sigma_max``) to the data, then one clean x0 evaluation.

    The state is kept in float64; ``x0_fn`` sees ``x_sigma_max``'s dtype, as the reference's wrapper.
    """
    dtype = x_sigma_max.dtype
    ones = torch.ones(x_sigma_max.shape[0], dtype=dtype, device=x_sigma_max.device)
    sigmas = karras_sigmas(num_steps, sigma_min, sigma_max, rho).tolist()

    def evaluate(x: torch.Tensor, sigma: float) -> torch.Tensor:
        return x0_fn(x.to(dtype), ones * sigma).to(torch.float64)

    x = x_sigma_max.to(torch.float64)
    previous: tuple[float, torch.Tensor] | None = None
    for sigma, sigma_next in zip(sigmas[:-1], sigmas[1:], strict=True):
        x0 = evaluate(x, sigma)
        if previous is None:
            x = euler_x0_step(x, sigma, sigma_next, x0)
        else:
            x = res_2ab_step(x, sigma, sigma_next, x0, *previous)
        previous = (sigma, x0)
    return evaluate(x, sigmas[-1]).to(dtype)


def classifier_free_guidance(cond_x0: torch.Tensor, uncond_x0: torch.Tensor, guidance: float) -> torch.Tensor:
    """``cond + g (cond - uncond)`` = ``(1 + g) cond - g uncond``."""
    return cond_x0 + guidance * (cond_x0 - uncond_x0)


def guided_x0_fn(cond_fn: X0Fn, uncond_fn: X0Fn, guidance: float = GUIDANCE) -> X0Fn:
    """An ``x0_fn`` for ``sample`` from conditioned and unconditioned denoisers (the control hint stays in
    both; the unconditioned one has zeroed T5 embeddings or a negative prompt)."""

    def x0_fn(x: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
        return classifier_free_guidance(cond_fn(x, sigma), uncond_fn(x, sigma), guidance)

    return x0_fn
