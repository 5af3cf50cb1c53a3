"""METHODS registry: training methods (plain CAM training and the erasing family).

Contract of a member: a subclass of :class:`wsol.methods.base.Method` built as
``METHODS.build(spec, key="method")`` from its options. A method may

* ``setup(model)``: change the model before the optimizer is built (insert dropout
  blocks, add a branch);
* ``training_step(model, images, labels)``: return ``(loss, ModelOutput)`` for a batch,
  free to transform the inputs (hiding patches, mixing images) and add loss terms;
* ``localization_map(model, images, targets)``: return ``(B, h, w)`` maps at evaluation.

The model must stay a plain :class:`~wsol.models.WSOLModel` in eval mode outside these
hooks, so explainers and checkpoints work for every method. A method instance serves
the one model it set up (it may keep references to blocks it inserted). A
:class:`~wsol.methods.base.CascadeMethod` trains several models in turn;
:func:`wsol.engine.train` hands it to :func:`wsol.engine.cascade.run_cascade`, and
:func:`wsol.load_model` rebuilds it with its earlier stages. Docstrings give the paper, the reference code
and its default hyper-parameters.

Members: ``vanilla``, ``has``, ``cutmix``, ``adl``, ``acol``, ``spg``, ``eil`` and the cascade
``adversarial_erasing``; shared masks and fills live in :mod:`wsol.methods.erasing`. The
2020-2024 methods: ``bas``, ``bridgegap`` (CAM heads), ``pc1`` (class-agnostic PC1/DDT maps of
any backbone) and ``psol`` (DDT pseudo boxes train a separate localizer). ``pc1`` and ``psol``
also offer ``fit(model, images)``: exact feature statistics over a dataset, replacing the
running ones (for a pretrained backbone, or after training).
"""

from wsol.registry import Registry

METHODS = Registry("method", __name__)


def list_methods(pattern: str = "*") -> list[str]:
    return METHODS.list(pattern)
