"""Machinery shared by the explainers: the :class:`Explainer` base, target-layer capture,
eval-mode handling, target classes and the gradient-weighted CAM family's base."""

from __future__ import annotations

import abc
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from typing import Any, ClassVar, Literal

import torch
from torch import Tensor, nn

from wsol.errors import ConfigError, WSOLError, did_you_mean


def logits_of(output: Any) -> Tensor:
    """The ``(B, K)`` logits of a model's output: a Tensor, or an object with ``.logits``."""
    logits = output if isinstance(output, Tensor) else getattr(output, "logits", None)
    if not isinstance(logits, Tensor) or logits.dim() != 2:
        raise WSOLError(
            f"the model returned {type(output).__name__}; explainers need (B, K) logits "
            "or an object with a .logits attribute holding them"
        )
    return logits


@contextmanager
def eval_mode(model: nn.Module) -> Iterator[None]:
    """Put ``model`` in eval mode for the block, then restore every submodule's own flag."""
    modes = [(m, m.training) for m in model.modules()]
    model.eval()
    try:
        yield
    finally:
        for module, training in modes:
            module.training = training


def chunks(n: int, size: int) -> Iterator[slice]:
    """Consecutive slices of at most ``size`` covering ``range(n)``."""
    for start in range(0, n, size):
        yield slice(start, min(start + size, n))


def safe_divide(num: Tensor, den: Tensor) -> Tensor:
    """``num / den`` where ``den != 0``, else 0 (with finite gradients everywhere)."""
    nonzero = den != 0
    return torch.where(nonzero, num / torch.where(nonzero, den, torch.ones_like(den)), 0.0)


def min_max_normalize(maps: Tensor) -> Tensor:
    """Scale each ``(..., H, W)`` map to [0, 1]; a constant map becomes 0."""
    flat = maps.flatten(-2)
    low = flat.amin(-1, keepdim=True)
    return safe_divide(flat - low, flat.amax(-1, keepdim=True) - low).view_as(maps)


def resolve_layer(model: nn.Module, layer: nn.Module | str) -> tuple[str, nn.Module]:
    """``(name, module)`` of a submodule of ``model`` given as a module or dotted name."""
    for name, module in model.named_modules():
        if module is layer or name == layer:
            return name, module
    if isinstance(layer, str):
        names = [n for n, _ in model.named_modules() if n]
        hint = did_you_mean(layer, names)
        raise ConfigError(f"target layer {layer!r} is not a submodule of the model{hint}")
    raise ConfigError(f"target layer {type(layer).__name__} is not a submodule of the model")


def token_source(model: nn.Module, layer_name: str) -> nn.Module | None:
    """The innermost module of ``model`` enclosing layer ``layer_name`` (or the layer itself)
    that declares a token grid: an attribute ``token_layout`` (a
    :class:`~wsol.models.backbones.tokens.TokenLayout`, set by its forward), or None."""
    found = None
    for name, module in model.named_modules():
        encloses = not name or layer_name == name or layer_name.startswith(name + ".")
        if encloses and hasattr(module, "token_layout"):
            found = module
    return found


class LayerCapture:
    """Context manager recording the output ``A`` of one layer during one forward pass.

    The hook returns a copy of ``A`` to the rest of the model, so that in-place operations
    downstream cannot alter the recorded activations. With ``leaf=True`` the recorded
    ``A`` is a fresh autograd leaf and grad mode is switched on from the layer onwards:
    the graph then spans only the layer-to-logits part of the model, which is all a
    gradient with respect to ``A`` needs. Exiting removes the hook and restores grad
    mode, also when the forward raised.

    Token layers: a ``(B, N, C)`` output is read through ``tokens.token_layout`` (the
    enclosing token backbone's layout for this forward pass, see :func:`token_source`):
    ``A`` is the ``(B, C, h, w)`` map of the patch tokens, and the rest of the model gets
    the prefix tokens (class, distillation, registers) unchanged followed by ``A``'s
    tokens, so gradients with respect to ``A`` are those of the patch tokens: what
    pytorch-grad-cam computes with a ``reshape_transform`` that drops the prefix tokens.
    """

    def __init__(
        self, name: str, layer: nn.Module, leaf: bool = False, tokens: nn.Module | None = None
    ) -> None:
        self.name, self.layer, self.leaf, self.tokens = name, layer, leaf, tokens
        self.output: Tensor | None = None

    def __enter__(self) -> LayerCapture:
        self._grad_mode = torch.is_grad_enabled()
        self._handle = self.layer.register_forward_hook(self._hook)
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._handle.remove()
        torch.set_grad_enabled(self._grad_mode)

    def _hook(self, module: nn.Module, args: object, output: object) -> Tensor:
        if self.output is not None:
            raise WSOLError(
                f"target layer {self.name!r} ran twice in one forward pass; choose a layer that runs once"
            )
        tokens = output if isinstance(output, Tensor) and output.dim() == 3 else None
        if tokens is not None and self.tokens is not None:
            output = self.tokens.token_layout.to_map(tokens)
        if not isinstance(output, Tensor) or output.dim() != 4:
            what = tuple(output.shape) if isinstance(output, Tensor) else type(output).__name__
            hint = "; no enclosing module declares its token grid (token_layout)" * (tokens is not None)
            raise WSOLError(
                f"target layer {self.name!r} returned {what}; explainers need a (B, C, h, w) map "
                f"or (B, N, C) tokens of a token backbone{hint}"
            )
        if self.leaf:
            torch.set_grad_enabled(True)
            output = output.detach().requires_grad_()
        self.output = output
        if tokens is None:
            return output.clone()
        return self.tokens.token_layout.to_tokens(tokens, output)


class Explainer(abc.ABC):
    """Base of every explainer; see :mod:`wsol.explainers` for the contract.

    Args:
        model: the classifier; its forward returns logits or an object with ``.logits``.
        target_layer: the module (or its dotted name in ``model``) whose output the
            layer-space methods explain: a ``(B, C, h, w)`` map, or ``(B, N, C)`` tokens
            of a token backbone (read on its grid, see :class:`LayerCapture`);
            input-space methods ignore it.
        differentiable: keep the autograd graph so the maps can be back-propagated
            through (e.g. to train with an attention loss). The model's train/eval mode
            is then left as the caller set it. By default maps are detached and the model
            runs in eval mode for the call, its modes restored afterwards.

    Class attributes: ``space`` is ``"layer"`` (maps at the target layer's resolution)
    or ``"input"`` (at the image's; ``target_layer`` is then ignored), and
    ``non_negative`` says whether maps are guaranteed ``>= 0``, and ``needs_tokens`` that the
    method reads a token backbone's attention (it explains transformers only).
    """

    space: ClassVar[Literal["layer", "input"]] = "layer"
    non_negative: ClassVar[bool] = True
    needs_tokens: ClassVar[bool] = False

    def __init__(
        self, model: nn.Module, target_layer: nn.Module | str | None = None, *, differentiable: bool = False
    ) -> None:
        self.model = model
        self.differentiable = differentiable
        self.tokens: nn.Module | None = None
        if self.space == "layer":
            if target_layer is None:
                raise ConfigError(f"explainer {type(self).__name__} needs a target layer")
            self.layer_name, self.target_layer = resolve_layer(model, target_layer)
            self.tokens = token_source(model, self.layer_name)

    def __call__(self, images: Tensor, targets: Tensor | None = None) -> Tensor:
        """``(B, h, w)`` maps explaining class ``targets[i]`` (default: predicted) of ``images[i]``."""
        if not isinstance(images, Tensor) or images.dim() != 4 or not images.is_floating_point():
            what = tuple(images.shape) if isinstance(images, Tensor) else type(images).__name__
            raise WSOLError(f"explainers take a (B, C, H, W) float image batch, got {what}")
        if targets is not None:
            targets = torch.as_tensor(targets, device=images.device)
            if targets.shape != images.shape[:1] or targets.is_floating_point():
                got = tuple(targets.shape)
                raise WSOLError(f"targets must be {len(images)} integer class indices, got {got}")
        mode = nullcontext() if self.differentiable else eval_mode(self.model)
        with mode, torch.set_grad_enabled(self.differentiable):
            return self.explain(images, targets)

    @abc.abstractmethod
    def explain(self, images: Tensor, targets: Tensor | None) -> Tensor:
        """The maps; runs in the mode and grad mode that ``__call__`` set."""

    def forward(self, images: Tensor) -> Tensor:
        """The model's logits for ``images``."""
        return logits_of(self.model(images))

    def capture(self, images: Tensor, leaf: bool = False) -> tuple[Tensor, Tensor]:
        """Logits and the target layer's ``(B, C, h, w)`` output ``A`` (see :class:`LayerCapture`)."""
        with LayerCapture(self.layer_name, self.target_layer, leaf, self.tokens) as capture:
            logits = self.forward(images)
        if capture.output is None:
            raise WSOLError(f"target layer {self.layer_name!r} did not run in the model's forward pass")
        return logits, capture.output

    def resolve_targets(self, logits: Tensor, targets: Tensor | None) -> Tensor:
        """``targets``, checked against the number of classes, or the predicted classes."""
        if targets is None:
            return logits.detach().argmax(1)
        bad = (targets < 0) | (targets >= logits.shape[1])
        if bad.any():
            i = int(bad.nonzero()[0, 0])
            target, classes = int(targets[i]), logits.shape[1]
            raise WSOLError(f"target class {target} of image {i} is out of range for {classes} classes")
        return targets.long()

    def target_gradient(self, logits: Tensor, targets: Tensor, wrt: Tensor, what: str) -> Tensor:
        """Gradient of each image's target logit with respect to ``wrt``, via ``autograd.grad``.

        Images are independent in eval mode, so one gradient of the summed scores gives
        every image's own gradient. Parameters' ``.grad`` are never touched.
        """
        with torch.enable_grad():
            score = logits.gather(1, targets[:, None]).sum()
        if not score.requires_grad:
            raise WSOLError(f"the target class scores do not depend differentiably on {what}")
        (grad,) = torch.autograd.grad(score, wrt, create_graph=self.differentiable)
        return grad


class GradientCAM(Explainer):
    """Base of the CAMs that combine the target layer's activations ``A`` with the
    gradients ``G = dS_c/dA`` of the target logit ``S_c``: ``ReLU(combine(A, G))``.

    The gradient is taken with ``torch.autograd.grad`` down to the target layer only: in
    the default (non-differentiable) mode the layers before it run without a graph.
    """

    def explain(self, images: Tensor, targets: Tensor | None) -> Tensor:
        logits, acts = self.capture(images, leaf=not self.differentiable)
        targets = self.resolve_targets(logits, targets)
        grads = self.target_gradient(logits, targets, acts, f"target layer {self.layer_name!r}")
        return torch.relu(self.combine(acts, grads))

    @abc.abstractmethod
    def combine(self, acts: Tensor, grads: Tensor) -> Tensor:
        """``(B, h, w)`` map before the ReLU from ``(B, C, h, w)`` activations and gradients."""
