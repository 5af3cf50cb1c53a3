"""Token backbones: timm vision transformers (ViT, DeiT, distilled DeiT, ViTs with registers).

A transformer block outputs ``(B, N, C)`` tokens: ``P`` prefix tokens (class,
distillation, register) followed by the ``h * w`` patch tokens of the patch grid in
row-major order. :class:`TokenLayout` says which is which for the current input, and
:class:`TokenBackbone` turns the patch tokens into the ``(B, C, h, w)`` maps of the
BACKBONES contract. Prefix tokens never enter a map: the backbone returns them apart, by
name, in :attr:`TokenFeatures.prefix`.

Explainers reshape a token layer through the enclosing module's ``token_layout``
attribute (see :class:`wsol.explainers.base.LayerCapture`), so no user-written reshape
function is needed; the same attribute is the protocol for any other token backbone.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass

import timm
import torch
from timm.models.vision_transformer import VisionTransformer
from torch import Tensor, nn

from wsol.config.schema import BackboneConfig
from wsol.errors import ConfigError, WSOLError
from wsol.models.backbones.base import Backbone, _ApplyInserted
from wsol.models.pretrained import timm_pretrained_kwargs

TOKEN_MODULES = ("timm.models.vision_transformer", "timm.models.deit")


@dataclass(frozen=True)
class TokenLayout:
    """Where the tokens of a ``(B, N, C)`` sequence come from.

    ``prefix``: names of the ``P`` leading tokens in order (``cls``, ``dist``, ``reg0``,
    ``reg1``, ...); ``grid``: ``(h, w)`` of the ``N - P`` patch tokens that follow them.
    """

    prefix: tuple[str, ...]
    grid: tuple[int, int]

    @property
    def num_prefix(self) -> int:
        return len(self.prefix)

    def to_map(self, tokens: Tensor) -> Tensor:
        """``(B, C, h, w)`` map of the patch tokens of ``tokens (B, N, C)``."""
        b, n, c = tokens.shape
        h, w = self.grid
        if n != self.num_prefix + h * w:
            raise WSOLError(f"{n} tokens do not fit {self.num_prefix} prefix tokens and a {h}x{w} patch grid")
        return tokens[:, self.num_prefix :].reshape(b, h, w, c).permute(0, 3, 1, 2)

    def to_tokens(self, tokens: Tensor, maps: Tensor) -> Tensor:
        """``tokens (B, N, C)`` with its patch tokens replaced by ``maps (B, C, h, w)`` (inverse of
        :meth:`to_map`). Maps of ``k * B`` images (a block that stacks ``k`` versions of the
        batch, e.g. EIL's erased branch) get the prefix tokens repeated ``k`` times in the same order."""
        prefix = tokens[:, : self.num_prefix]
        if maps.shape[0] != prefix.shape[0]:
            if maps.shape[0] % prefix.shape[0]:
                raise WSOLError(f"maps of {maps.shape[0]} images do not extend tokens of {prefix.shape[0]}")
            prefix = prefix.repeat(maps.shape[0] // prefix.shape[0], 1, 1)
        return torch.cat([prefix, maps.flatten(2).transpose(1, 2)], dim=1)

    def prefix_tokens(self, tokens: Tensor) -> dict[str, Tensor]:
        """``{name: (B, C)}`` for each prefix token of ``tokens (B, N, C)``."""
        return {name: tokens[:, i] for i, name in enumerate(self.prefix)}


class TokenFeatures(list):
    """The BACKBONES contract's list of ``(B, C, h, w)`` maps, one per block, plus:

    * ``layout``: the :class:`TokenLayout` of this input;
    * ``prefix``: ``{name: (B, C)}`` prefix tokens after the final norm (``cls``, ``dist``, ``reg<i>``);
    * ``attentions``: per block, the ``(B, heads, N, N)`` attention probabilities (rows:
      queries), when the backbone records them (``keep_attention``), else empty.
    """

    def __init__(
        self, maps: list[Tensor], layout: TokenLayout, prefix: dict[str, Tensor], attentions: list[Tensor]
    ) -> None:
        super().__init__(maps)
        self.layout, self.prefix, self.attentions = layout, prefix, attentions


def is_token_model(name: str) -> bool:
    """Whether ``name`` is a timm model built by :class:`TokenBackbone`."""
    return timm.is_model(name) and timm.models.model_entrypoint(name).__module__ in TOKEN_MODULES


class TokenBackbone(Backbone):
    """A timm :class:`~timm.models.vision_transformer.VisionTransformer` (ViT, DeiT, DeiT-III,
    distilled DeiT, register ViTs) as a backbone whose stages are its blocks.

    ``forward`` returns a :class:`TokenFeatures`: block ``i``'s patch tokens as a ``(B, C, h, w)``
    map for each block up to ``cfg.feature_stage`` (later blocks are removed); the last map is
    taken after the model's final norm, the others are raw block outputs. ``stage_modules``
    follow suit: the blocks, the last one replaced by the final norm (so the default explainer
    layer, the last stage module, sees the tokens the head classifies). The model is built
    with ``dynamic_img_size=True``, so the grid follows the input: ``(H / p, W / p)`` for
    patch size ``p`` (position embeddings are resampled by timm); sides that are not
    multiples of ``p`` are refused (timm's ``dynamic_img_pad=True`` option pads them instead,
    with a grid of ``ceil(H / p)`` rows whose last one is partly padding). ``cfg.options`` go
    to ``timm.create_model``: a CPU-sized DeiT is ``deit_tiny_patch16_224`` with
    ``{patch_size: 8, depth: 4, img_size: 128}``; the same code takes a full DeiT with no options.

    Blocks inserted with :meth:`insert_after` (ADL, EIL) see (and return) the block's patch-token
    map; prefix tokens pass them untouched. It does not run stage by stage (``run_stage``): a
    stage's map alone lacks the prefix tokens the next block needs, so heads that place
    layers between stages (``runs_backbone``: se, cbam, ...) refuse it with a config error.
    ``keep_attention = True`` (set by heads that need it, e.g. TS-CAM) records every block's
    attention probabilities in each forward pass; the blocks then compute attention
    explicitly instead of with torch's fused kernel, which is also what a second derivative
    through the model needs (the fused CPU kernel has none: set it for differentiable
    input-gradient maps, e.g. ``saliency`` with ``differentiable=True``).
    """

    def __init__(self, cfg: BackboneConfig) -> None:
        super().__init__()
        if cfg.stride_one_stages:
            raise ConfigError(f"model.backbone.stride_one_stages: {cfg.name} has no strides to remove")
        options = {"dynamic_img_size": True, **cfg.options}
        self.body = timm.create_model(cfg.name, num_classes=0, **timm_pretrained_kwargs(cfg), **options)
        if not isinstance(self.body, VisionTransformer):
            raise ConfigError(f"model.backbone.name: {cfg.name} is not a timm VisionTransformer")
        depth = len(self.body.blocks)
        if not -depth <= cfg.feature_stage < depth:
            raise ConfigError(
                f"model.backbone.feature_stage: {cfg.feature_stage} out of range for {cfg.name} "
                f"({depth} blocks)"
            )
        self.body.blocks = self.body.blocks[: cfg.feature_stage % depth + 1]
        self.prefix_names = prefix_names(self.body)
        self.channels = [self.body.embed_dim] * len(self.body.blocks)
        self.stage_modules = [*self.body.blocks[:-1], self.body.norm]
        self.keep_attention = False
        self.token_layout: TokenLayout | None = None

    def forward(self, images: Tensor) -> TokenFeatures:
        body = self.body
        self._check_size(images)
        patches = body.patch_embed(images)  # (B, h, w, C) with dynamic_img_size
        self.token_layout = layout = TokenLayout(self.prefix_names, tuple(patches.shape[1:3]))
        tokens = body.norm_pre(body.patch_drop(body._pos_embed(patches)))
        recording = self.recording_attention() if self.keep_attention else contextlib.nullcontext([])
        outputs = []
        with recording as attentions:
            for block in body.blocks:
                tokens = block(tokens)
                outputs.append(tokens)
        outputs[-1] = body.norm(outputs[-1])
        maps = [layout.to_map(t) for t in outputs]
        return TokenFeatures(maps, layout, layout.prefix_tokens(outputs[-1]), attentions)

    def _check_size(self, images: Tensor) -> None:
        embed = self.body.patch_embed
        if embed.dynamic_img_pad:
            return
        patch = tuple(embed.patch_size)
        if images.shape[-2] % patch[0] or images.shape[-1] % patch[1]:
            raise WSOLError(
                f"input of {images.shape[-2]}x{images.shape[-1]} pixels is not a multiple of the "
                f"{patch[0]}x{patch[1]} patch size (or set model.backbone.options.dynamic_img_pad: true)"
            )

    @contextlib.contextmanager
    def recording_attention(self) -> Iterator[list[Tensor]]:
        """Collect each block's ``(B, heads, N, N)`` attention probabilities during the block.

        timm computes attention with a fused kernel that does not expose them; inside the
        block its explicit path runs instead (the same function), and a hook on the
        attention dropout's input records the softmax. Flags and hooks are restored on exit.
        """
        attentions: list[Tensor] = []
        modules = [block.attn for block in self.body.blocks]
        if not all(
            hasattr(m, "fused_attn") and isinstance(getattr(m, "attn_drop", None), nn.Module) for m in modules
        ):
            raise WSOLError("this transformer's attention modules do not expose attention probabilities")
        fused = [m.fused_attn for m in modules]
        handles = [
            m.attn_drop.register_forward_hook(lambda _m, args, _o: attentions.append(args[0]))
            for m in modules
        ]
        try:
            for m in modules:
                m.fused_attn = False
            yield attentions
        finally:
            for m, flag, handle in zip(modules, fused, handles, strict=True):
                m.fused_attn = flag
                handle.remove()

    def _inserted_hook(self, name: str) -> _ApplyInserted:
        """Inserted blocks (:meth:`Backbone.insert_after`) see and return the stage's patch-token map."""
        return _ApplyOnPatchMap(self, name)


class _ApplyOnPatchMap(_ApplyInserted):
    """Forward hook applying an inserted block to a token stage's patch-token map."""

    def __call__(self, _module: nn.Module, _inputs: tuple[Tensor, ...], output: Tensor) -> Tensor:
        layout = self.backbone.token_layout
        return layout.to_tokens(output, self.backbone.inserted[self.name](layout.to_map(output)))


def prefix_names(body: VisionTransformer) -> tuple[str, ...]:
    """Names of ``body``'s prefix tokens in sequence order."""
    names = ["cls"] if body.cls_token is not None else []
    if getattr(body, "dist_token", None) is not None:
        names.append("dist")
    names += [f"reg{i}" for i in range(body.num_reg_tokens if body.reg_token is not None else 0)]
    if len(names) != body.num_prefix_tokens:
        raise ConfigError(f"model.backbone.name: cannot name the {body.num_prefix_tokens} prefix tokens")
    return tuple(names)


def class_attention(attentions: list[Tensor], layout: TokenLayout, query: int = 0) -> Tensor:
    """``(B, h, w)``: the attention of prefix token ``query`` (the class token) to each patch,
    averaged over heads and over the ``(B, heads, N, N)`` attention probabilities given (rows:
    queries). TS-CAM's semantic-agnostic map (Gao et al., ICCV 2021, eq. 4: the official code
    sums the layers, here averaged: the same map up to the factor ``len(attentions)``)."""
    if not attentions:
        raise WSOLError("no attention was recorded")
    if query >= layout.num_prefix:
        raise WSOLError(f"this transformer has no prefix token {query} to read the attention of")
    rows = torch.stack([a[:, :, query] for a in attentions]).mean(dim=(0, 2))  # (B, N)
    return layout.to_map(rows[..., None])[:, 0]
