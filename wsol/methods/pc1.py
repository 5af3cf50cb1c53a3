"""PC1 / DDT class-agnostic maps: the first principal component of a layer's features."""

from __future__ import annotations

from collections.abc import Iterable
from typing import ClassVar

import torch
from torch import Tensor, nn

from wsol.errors import ConfigError, WSOLError
from wsol.methods import METHODS
from wsol.methods.base import Method
from wsol.models.output import ModelOutput


class PrincipalComponent(nn.Module):
    """Statistics of the ``C``-dimensional feature vectors ``f`` of every location of a layer,
    and the projection on their first principal direction.

    Buffers (float64, saved with the model): ``mean = E[f]``, ``second = E[f f^T]``,
    ``norm_moment = E[|f| f]``, ``norm_mean = E[|f|]`` and ``count`` (vectors seen). They are
    either running averages updated by :meth:`update` during training (exponential with
    ``momentum``; cumulative when ``momentum`` is None) or exact over a dataset (:meth:`fit`).

    ``v`` is the top eigenvector of ``Cov = E[f f^T] - mean mean^T``; its sign, arbitrary in
    PCA, is chosen so that the projection grows with the feature norm
    (``v . (E[|f| f] - E[|f|] mean) >= 0``, i.e. ``Cov(|f|, v . f) >= 0``): objects, where a
    network's features are strongest, come out positive.
    """

    def __init__(self, channels: int, momentum: float | None = 0.1) -> None:
        super().__init__()
        if momentum is not None and not 0.0 < momentum <= 1.0:
            raise ConfigError(f"method.momentum: {momentum} is not in (0, 1] (or null: cumulative)")
        self.momentum = momentum
        kw = {"dtype": torch.float64}
        self.register_buffer("mean", torch.zeros(channels, **kw))
        self.register_buffer("second", torch.zeros(channels, channels, **kw))
        self.register_buffer("norm_moment", torch.zeros(channels, **kw))
        self.register_buffer("norm_mean", torch.zeros((), **kw))
        self.register_buffer("count", torch.zeros((), dtype=torch.long))

    @staticmethod
    def moments(features: Tensor) -> tuple[int, list[Tensor]]:
        """Number of vectors and their summed ``f``, ``f f^T``, ``|f| f``, ``|f|`` (float64)."""
        vectors = features.detach().double().transpose(0, 1).flatten(1).T  # (B*h*w, C)
        norms = vectors.norm(dim=1)
        return len(vectors), [vectors.sum(0), vectors.T @ vectors, norms @ vectors, norms.sum()]

    def update(self, features: Tensor) -> None:
        """Fold a ``(B, C, h, w)`` batch into the running averages."""
        n, sums = self.moments(features)
        seen = int(self.count)
        rate = n / (seen + n) if self.momentum is None or not seen else self.momentum
        for buffer, total in zip(self._statistics(), sums, strict=True):
            buffer.lerp_(total / n, rate)
        self.count += n

    @torch.no_grad()
    def fit(self, batches: Iterable[Tensor]) -> None:
        """Exact statistics over ``(B, C, h, w)`` feature batches (e.g. a whole training set)."""
        n, totals = 0, None
        for features in batches:
            size, sums = self.moments(features)
            n += size
            totals = sums if totals is None else [t + s for t, s in zip(totals, sums, strict=True)]
        if not n:
            raise WSOLError("PC1: no features to fit the principal component on")
        for buffer, total in zip(self._statistics(), totals, strict=True):
            buffer.copy_(total / n)
        self.count.fill_(n)

    def _statistics(self) -> list[Tensor]:
        return [self.mean, self.second, self.norm_moment, self.norm_mean]

    def direction(self) -> Tensor:
        """The unit first principal direction ``v`` (float64), signed as described above."""
        if not int(self.count):
            raise WSOLError("PC1: no statistics yet; train the model or fit the method on a dataset first")
        covariance = self.second - torch.outer(self.mean, self.mean)
        v = torch.linalg.eigh(covariance).eigenvectors[:, -1]
        return -v if v @ (self.norm_moment - self.norm_mean * self.mean) < 0 else v

    def forward(self, features: Tensor) -> Tensor:
        """``(B, h, w)`` maps ``v . (f_ij - mean)`` of ``(B, C, h, w)`` features."""
        v = self.direction().to(features.dtype)
        return torch.einsum("c,bchw->bhw", v, features - self.mean.to(features.dtype)[:, None, None])


class PC1Head(nn.Module):
    """The model's head plus a :class:`PrincipalComponent` of backbone stage ``stage``.

    ``forward(features)``: the base head's logits and aux losses, and as class-agnostic
    attention the stage's PC1 map; in training mode the batch's features (detached) update the
    running statistics first. ``classifier`` is the base head's (CAM explainers still find it).
    """

    map_kind: ClassVar[str] = "attention"

    def __init__(self, base: nn.Module, channels: int, stage: int, momentum: float | None) -> None:
        super().__init__()
        self.base, self.stage = base, stage
        self.component = PrincipalComponent(channels, momentum)

    @property
    def classifier(self) -> nn.Module | None:
        return getattr(self.base, "classifier", None)

    def forward(self, features: list[Tensor]) -> ModelOutput:
        out = self.base(features)
        if self.training:
            self.component.update(features[self.stage])
        maps = self.component(features[self.stage])[:, None]
        return ModelOutput(logits=out.logits, attention=maps, boxes=out.boxes, aux_losses=out.aux_losses)


@METHODS.register("pc1")
class PC1(Method):
    """PC1 / DDT maps (Wei et al., "Deep Descriptor Transforming for Image Co-Localization",
    IJCAI 2017, as run in PSOL's code github.com/tzzcl/PSOL; the class-agnostic finding of
    Yasuki & Taki, "CAM Back Again: Large Kernel CNNs from a Weakly Supervised Object
    Localization Perspective", CVPR 2024, github.com/snskysk/CAM-Back-Again).

    The map of an image is the projection of each location's features ``f_ij`` at backbone
    stage ``stage`` on the first principal component of those features over a dataset:

        ``M_ij = v . (f_ij - mean)``,  ``v`` = top eigenvector of ``Cov(f)`` (sign: see
        :class:`PrincipalComponent`)

    Class-agnostic (``targets`` are ignored); any backbone, trained or pretrained. Training
    is plain cross-entropy; the statistics are running averages over the training batches
    (``momentum``; null: cumulative), which :meth:`fit` replaces by exact ones over a dataset
    (DDT's setting). The engine calls :meth:`fit` on the training split (eval transform)
    after the last epoch, so the last checkpoint holds exact statistics (an earlier ``best``
    checkpoint holds running ones; a run of 0 epochs on a pretrained backbone is not fitted).
    Differs from DDT: one component for all classes (DDT fits one per image set), and a sign
    rule instead of DDT's "positive = common object" reading of an arbitrary eigenvector sign.
    """

    fits_statistics = True

    def __init__(self, stage: int = -1, momentum: float | None = 0.1) -> None:
        self.stage, self.momentum = stage, momentum

    def setup(self, model: nn.Module) -> None:
        channels = model.backbone.channels
        if not -len(channels) <= self.stage < len(channels):
            raise ConfigError(f"method.stage: the backbone has no stage {self.stage}")
        model.head = PC1Head(model.head, channels[self.stage], self.stage, self.momentum)

    @torch.no_grad()
    def fit(self, model: nn.Module, images: Iterable[Tensor]) -> None:
        """Exact statistics of stage ``stage`` over the image batches ``images`` (model in eval mode)."""
        training = model.training
        model.eval()
        try:
            model.head.component.fit(model.backbone(x)[self.stage] for x in images)
        finally:
            model.train(training)
