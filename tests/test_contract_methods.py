"""The METHODS contract (module docstring of :mod:`wsol.methods`) beyond one training step
(that is in ``test_methods.py``), on every registered member: outside its hooks a set-up
model stays a plain WSOLModel in eval mode, so checkpoints and explainers work for every method.
"""

from __future__ import annotations

import copy

import pytest
import torch
from method_inputs import IMAGES, LABELS, NUM_CLASSES

from wsol.explainers import create_explainer
from wsol.methods import METHODS
from wsol.methods.base import Method
from wsol.models import WSOLModel

ALL = METHODS.list()


def set_up(name: str, base_model: WSOLModel, seed: int) -> tuple[WSOLModel, Method]:
    torch.manual_seed(seed)
    model, method = copy.deepcopy(base_model), METHODS.build(name, key="method")
    method.setup(model)
    return model, method


def trained(name: str, base_model: WSOLModel) -> tuple[WSOLModel, Method]:
    """Set up and one SGD step taken, so weights and BatchNorm statistics moved."""
    model, method = set_up(name, base_model, seed=1)
    model.train()
    loss, _ = method.training_step(model, IMAGES, LABELS)
    loss.backward()
    with torch.no_grad():
        for p in model.parameters():
            if p.grad is not None:
                p -= 0.1 * p.grad
    return model.eval(), method


def modes(model: torch.nn.Module) -> list[bool]:
    return [m.training for m in model.modules()]


@pytest.mark.parametrize("name", ALL)
def test_hooks_leave_every_module_flag_as_the_caller_set_it(name: str, base_model: WSOLModel) -> None:
    model, method = set_up(name, base_model, seed=1)
    for mode in (True, False):
        model.train(mode)
        before = modes(model)
        if mode:
            method.training_step(model, IMAGES, LABELS)
        else:
            with torch.no_grad():
                method.localization_map(model, IMAGES, LABELS)
        assert modes(model) == before, f"{name} changed module flags in {'training' if mode else 'eval'}"


@pytest.mark.parametrize("name", ALL)
def test_a_checkpoint_restores_the_method_s_maps(name: str, base_model: WSOLModel) -> None:
    source, method = trained(name, base_model)
    target, other = set_up(name, base_model, seed=2)
    target.load_state_dict(source.state_dict())  # strict: the method keeps no weights outside the model
    target.eval()
    with torch.no_grad():
        expected = method.localization_map(source, IMAGES, LABELS)
        restored = other.localization_map(target, IMAGES, LABELS)
        plain = source(IMAGES).logits, target(IMAGES).logits
    assert all(torch.equal(a, b) for a, b in zip(expected, restored, strict=True)), name
    assert torch.equal(*plain)


@pytest.mark.parametrize("name", ALL)
def test_explainers_work_on_the_set_up_model(name: str, base_model: WSOLModel) -> None:
    model, _ = trained(name, base_model)
    model.zero_grad(set_to_none=True)
    explainer = create_explainer("gradcam", model, model.backbone.stage_modules[-1])
    maps = explainer(IMAGES, LABELS)
    assert maps.shape[0] == 2 and maps.ndim == 3 and torch.isfinite(maps).all() and maps.abs().sum() > 0
    assert all(p.grad is None for p in model.parameters()), "an explainer wrote parameter gradients"
    out = model(IMAGES)
    assert out.logits.shape == (2, NUM_CLASSES) and out.localization_map(LABELS).shape[0] == 2
