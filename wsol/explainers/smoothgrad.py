"""SmoothGrad (Smilkov et al., 2017, https://arxiv.org/abs/1706.03825).

The input gradient averaged over ``samples`` noisy copies ``X + N(0, sigma^2)`` with
``sigma = noise_level * (max X - min X)`` per image (the paper's noise level, 10-20%
recommended; 50 samples), then reduced like vanilla saliency: ``max_c |mean grad|``
(the paper averages the raw gradients and takes absolute values to visualise).
Default targets are the classes predicted for the clean images. The noise comes from a
generator seeded with ``seed`` on every call, so a call is reproducible for a given
batch and ``batch_size`` (the number of noisy copies per forward pass).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from wsol.errors import ConfigError
from wsol.explainers import EXPLAINERS
from wsol.explainers.base import chunks
from wsol.explainers.saliency import Saliency


@EXPLAINERS.register("smoothgrad")
class SmoothGrad(Saliency):
    def __init__(
        self,
        model: nn.Module,
        target_layer: nn.Module | str | None = None,
        samples: int = 50,
        noise_level: float = 0.15,
        seed: int = 0,
        batch_size: int = 16,
        *,
        differentiable: bool = False,
    ) -> None:
        super().__init__(model, target_layer, differentiable=differentiable)
        if samples < 1 or batch_size < 1 or noise_level < 0:
            raise ConfigError(
                f"smoothgrad needs samples >= 1, batch_size >= 1 and noise_level >= 0, got "
                f"{samples}, {batch_size} and {noise_level}"
            )
        self.samples, self.noise_level, self.seed, self.batch_size = samples, noise_level, seed, batch_size

    def gradient(self, images: Tensor, targets: Tensor | None) -> Tensor:
        if targets is None:
            with torch.no_grad():
                targets = self.resolve_targets(self.forward(images), None)
        flat = images.flatten(1)
        sigma = self.noise_level * (flat.amax(1) - flat.amin(1))
        generator = torch.Generator(images.device).manual_seed(self.seed)
        total = torch.zeros_like(images)
        for part in chunks(len(images) * self.samples, self.batch_size):
            index = torch.arange(part.start, part.stop, device=images.device) // self.samples
            noise = torch.randn(
                (len(index), *images.shape[1:]), generator=generator, device=images.device, dtype=images.dtype
            )
            noisy = images[index] + sigma[index].view(-1, 1, 1, 1) * noise
            total = total.index_add(0, index, super().gradient(noisy, targets[index]))
        return total / self.samples
