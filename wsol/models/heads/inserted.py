"""The inserted-blocks head: attention layers after chosen backbone stages, then CAM.

``inserted`` takes the layer by name (``layer: {name: cbam, reduction: 8}``); ``se``,
``cbam``, ``bam``, ``sk`` and ``residual_attention`` are the same head with the layer of
that name fixed, its options given flat (``{name: cbam, reduction: 8}``) and the defaults
of :data:`ALIASES`.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar, NamedTuple

from torch import Tensor, nn

from wsol.errors import ConfigError
from wsol.models.backbones.base import Backbone
from wsol.models.heads import HEADS
from wsol.models.heads._multiscale import RESIZE_MODES, stack_maps
from wsol.models.heads._options import check_choice, resolve_stages
from wsol.models.heads.cam import CAMHead
from wsol.models.layers import ATTENTION
from wsol.models.output import ModelOutput

MAP_CHOICES = ("cam", "attention")


@HEADS.register("inserted")
class InsertedBlocksHead(nn.Module):
    """An attention layer after each of the backbone's ``stages``, then a CAM head on the last stage.

    ``layer`` names an :data:`~wsol.models.layers.ATTENTION` layer (a name, or a spec
    ``{name: ..., **options}``; default ``cbam``); one is built per stage of ``stages`` for
    that stage's channels. The head runs the backbone itself, stage by stage
    (:meth:`~wsol.models.backbones.base.Backbone.run_stage`): each chosen stage's output is
    replaced by its layer's output before later stages and the CAM head see it, so the
    layers act as blocks inserted into the backbone (Hu et al. and Woo et al. place theirs
    inside every residual unit; wsol places one after each chosen stage, so a pretrained
    backbone stays intact). The layers belong to the head (``head.layers.<stage>``) and
    train at its learning rate. Nothing is hooked into the backbone and nothing of a
    forward is kept on ``self``.

    Call it as ``head(backbone, images)`` (``runs_backbone = True``; :class:`WSOLModel`
    does so). ``maps`` chooses what localizes (and so ``map_kind``):

    * ``"cam"``: ``map_kind = "class"``, the CAM head's class maps of the last stage;
    * ``"attention"``: ``map_kind = "attention"``, the layers' spatial maps
      (``AttentionOutput.spatial``, ``(B, 1, h_i, w_i)`` in [0, 1]), resized to the
      ``resize`` (finest or coarsest) of their resolutions and stacked as
      ``(B, len(stages), h, w)``; only for layers with a spatial map.
    """

    runs_backbone: ClassVar[bool] = True
    map_kind: str

    def __init__(
        self,
        in_channels: list[int],
        num_classes: int,
        backbone: Backbone | None = None,
        layer: str | Mapping[str, Any] = "cbam",
        stages: Sequence[int] = (-3, -2, -1),
        pooling: str = "gap",
        maps: str = "cam",
        resize: str = "finest",
    ) -> None:
        super().__init__()
        if backbone is not None and not backbone.runs_stagewise:
            raise ConfigError(
                f"model.head: attention layers need a backbone that runs stage by stage; "
                f"{type(backbone).__name__} does not"
            )
        self.map_kind = "class" if check_choice(maps, MAP_CHOICES, "maps") == "cam" else "attention"
        self.resize = check_choice(resize, RESIZE_MODES, "resize")
        self.num_stages = len(in_channels)
        self.cam = CAMHead(in_channels, num_classes, pooling=pooling)
        spec = {"name": layer} if isinstance(layer, str) else dict(layer)
        self.stages = tuple(resolve_stages(stages, self.num_stages))
        self.layers = nn.ModuleDict(
            {str(s): ATTENTION.build(spec, "model.head.layer", channels=in_channels[s]) for s in self.stages}
        )
        if self.map_kind == "attention" and "spatial" not in ATTENTION.get(spec["name"]).maps:
            raise ConfigError(f"model.head.maps: 'attention' needs spatial maps; {spec['name']!r} has none")

    def forward(self, backbone: Backbone, images: Tensor) -> ModelOutput:
        features, spatial, x = [], [], images
        for stage in range(self.num_stages):
            x = backbone.run_stage(stage, x)
            if stage in self.stages:
                attended = self.layers[str(stage)](x)
                x = attended.output
                spatial.append(attended.spatial)
            features.append(x)
        out = self.cam(features)
        if self.map_kind == "class":
            return out
        return ModelOutput(logits=out.logits, attention=stack_maps(spatial, self.resize))


class Alias(NamedTuple):
    """A head name for :class:`InsertedBlocksHead` with one layer and its defaults."""

    layer: str
    stages: tuple[int, ...]
    maps: str = "cam"


ALIASES = {
    "se": Alias("se", (-3, -2, -1)),
    "cbam": Alias("cbam", (-3, -2, -1)),
    "bam": Alias("bam", (-4, -3, -2)),  # BAM's places: the bottlenecks between ResNet stages 1-4
    "sk": Alias("sk", (-3, -2, -1)),
    "residual_attention": Alias("residual_attention", (-2,), "attention"),
}


def alias_head(alias: Alias) -> Callable[..., InsertedBlocksHead]:
    """A constructor of :class:`InsertedBlocksHead` with ``alias.layer`` fixed.

    Its options are the head's (less ``layer``, with the alias's defaults) and the layer's
    (less ``channels``), flat; its signature says so, so the registry checks them.
    """
    layer_cls = ATTENTION.get(alias.layer)
    defaults = {"stages": alias.stages, "maps": alias.maps}
    head_params = [
        p.replace(default=defaults.get(p.name, p.default))
        for p in inspect.signature(InsertedBlocksHead).parameters.values()
        if p.name != "layer"
    ]
    layer_params = [
        p.replace(kind=inspect.Parameter.KEYWORD_ONLY)
        for p in inspect.signature(layer_cls).parameters.values()
        if p.name != "channels"
    ]
    layer_options = {p.name for p in layer_params}

    def build(**options: Any) -> InsertedBlocksHead:
        spec = {"name": alias.layer, **{k: options.pop(k) for k in layer_options & set(options)}}
        return InsertedBlocksHead(layer=spec, **{**defaults, **options})

    build.__signature__ = inspect.Signature([*head_params, *layer_params])  # type: ignore[attr-defined]
    build.__name__ = build.__qualname__ = f"inserted[{alias.layer}]"
    build.__doc__ = (
        f"The ``inserted`` head with ``layer: {alias.layer}`` (see InsertedBlocksHead), whose "
        f"options it takes flat; defaults ``stages: {list(alias.stages)}``, ``maps: {alias.maps}``.\n\n"
        f"{layer_cls.__doc__}"
    )
    return build


for _name, _alias in ALIASES.items():
    HEADS.register(_name)(alias_head(_alias))
