"""The ATTENTION registry: every attention layer keeps the contract of wsol.models.layers."""

from collections.abc import Callable

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from wsol.errors import ConfigError, RegistryError
from wsol.models.layers import ATTENTION, AttentionOutput, create_attention, list_attention

LAYERS = ATTENTION.list()
MAP_FIELDS = ("spatial", "channel", "branch_weights")


def features(channels: int = 24, size: tuple[int, int] = (6, 5)) -> torch.Tensor:
    return torch.randn(2, channels, *size, generator=torch.Generator().manual_seed(2))


def positive(channels: int = 24) -> torch.Tensor:
    return features(channels=channels).abs() + 0.1


def tensor_attributes(module: torch.nn.Module) -> list[str]:
    """Names of the attributes (outside parameters, buffers and submodules) holding tensors."""
    found = []
    for owner, sub in module.named_modules():
        for key, value in vars(sub).items():
            values = value if isinstance(value, (list, tuple)) else [value]
            if key not in ("_parameters", "_buffers") and any(isinstance(v, torch.Tensor) for v in values):
                found.append(f"{owner}.{key}")
    return found


def check_layer_contract(name: str, channels: int = 24, size: tuple[int, int] = (6, 5)) -> None:
    """Output like the input, the declared maps (only those) with their shapes and ranges."""
    torch.manual_seed(0)
    layer = create_attention(name, channels)
    x = features(channels=channels, size=size)
    out = layer(x)
    assert isinstance(out, AttentionOutput) and out.output.shape == x.shape
    assert layer.maps and set(layer.maps) <= set(MAP_FIELDS)
    for field in MAP_FIELDS:
        assert (getattr(out, field) is not None) == (field in layer.maps), field
    if out.spatial is not None:
        assert out.spatial.shape == (2, 1, *size)
    if out.channel is not None:
        assert out.channel.shape == (2, channels, 1, 1)
    for m in (out.spatial, out.channel, out.branch_weights):
        assert m is None or ((m >= 0) & (m <= 1)).all()
    if out.branch_weights is not None:
        assert out.branch_weights.shape[0] == 2 and out.branch_weights.shape[2:] == (channels, 1, 1)
        torch.testing.assert_close(out.branch_weights.sum(dim=1), torch.ones(2, channels, 1, 1))
    assert tensor_attributes(layer) == []


@pytest.mark.parametrize("name", LAYERS)
def test_layer_keeps_the_contract(name):
    check_layer_contract(name)


@pytest.mark.parametrize("name", LAYERS)
@settings(max_examples=8, deadline=None)
@given(channels=st.integers(1, 40), height=st.integers(1, 9), width=st.integers(1, 9))
def test_layer_contract_holds_for_any_channels_and_size(name, channels, height, width):
    check_layer_contract(name, channels, (height, width))


def backward_after_one_step(
    module: torch.nn.Module, loss: Callable[[], torch.Tensor], *inputs: torch.Tensor
) -> None:
    """``loss().backward()`` after one SGD step on it, with the gradients of ``module`` and
    ``inputs`` cleared in between: a zero-initialised output layer (residual attention's mask)
    passes no gradient back at step 0."""
    loss().backward()
    torch.optim.SGD(module.parameters(), lr=0.1).step()
    module.zero_grad()
    for x in inputs:
        x.grad = None
    loss().backward()


@pytest.mark.parametrize("name", LAYERS)
def test_gradients_reach_the_input_and_every_parameter(name):
    torch.manual_seed(0)
    layer = create_attention(name, 24)
    x = features().requires_grad_(True)
    weights = torch.randn(layer(x).output.shape, generator=torch.Generator().manual_seed(3))
    backward_after_one_step(layer, lambda: (layer(x).output * weights).sum(), x)
    assert x.grad is not None and torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0
    for pname, p in layer.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), pname
        # A bias followed by BatchNorm (BAM's convolutions) gets no gradient; every weight does.
        assert pname.endswith("bias") or p.grad.abs().sum() > 0, pname


@pytest.mark.parametrize("name", LAYERS)
def test_layer_is_documented_and_registered_by_its_name(name):
    cls = ATTENTION.get(name)
    assert list_attention(name) == [name] and name in list_attention(["x*", name])
    doc = " ".join(cls.__doc__.split())
    assert "et al." in doc and "github.com" in doc  # the paper and the reference code


def test_unknown_layer_or_option_is_a_one_line_error():
    with pytest.raises(RegistryError, match=r"unknown attention layer 'cbma' \(did you mean 'cbam'"):
        create_attention("cbma", 8)
    with pytest.raises(ConfigError, match=r"unknown option 'reduciton' .*did you mean 'reduction'"):
        create_attention("se", 8, reduciton=4)


# ---------------------------------------------------------------- what each layer computes


def test_se_output_is_the_input_times_its_channel_gate():
    out = create_attention("se", 24).eval()(positive())
    torch.testing.assert_close(out.output, positive() * out.channel)
    assert ((out.channel > 0) & (out.channel < 1)).all()


def test_cbam_output_factorises_into_its_channel_and_spatial_maps():
    layer = create_attention("cbam", 24).eval()
    x = positive()
    out = layer(x)
    torch.testing.assert_close(out.output, x * out.channel * out.spatial)
    # M_s is computed on the channel-gated features: it follows their channel mean and max.
    gated = x * out.channel
    pooled = torch.cat([gated.mean(dim=1, keepdim=True), gated.amax(dim=1, keepdim=True)], dim=1)
    torch.testing.assert_close(out.spatial, torch.sigmoid(layer.spatial(pooled)))


def test_bam_gate_adds_channel_and_spatial_logits():
    x = positive()
    out = create_attention("bam", 24).eval()(x)
    gate = out.output / x - 1  # sigmoid(M_c[c] + M_s[y, x])
    expected = torch.sigmoid(torch.logit(out.channel) + torch.logit(out.spatial))
    torch.testing.assert_close(gate, expected, rtol=1e-4, atol=1e-5)


def test_sk_with_identical_branches_is_the_residual_of_one():
    layer = create_attention("sk", 24).eval()
    first, second = layer.branches
    second[0].dilation, second[0].padding = first[0].dilation, first[0].padding
    second.load_state_dict(first.state_dict())  # identical branches: any convex mix is U_0
    x = positive()
    torch.testing.assert_close(layer(x).output, x + first(x))


def test_residual_attention_is_trunk_times_one_plus_mask():
    layer = create_attention("residual_attention", 24).eval()
    x = positive()
    # At the start the mask's output layer is zero: M = 1/2 everywhere, H = 1.5 x.
    torch.testing.assert_close(layer(x).output, 1.5 * x)
    torch.nn.init.normal_(layer.mask.out[-1].weight, std=0.5)  # a trained, uneven mask
    out = layer(x)
    mask = out.output / x - 1
    assert ((mask > 0) & (mask < 1)).all() and mask.std() > 0.01
    torch.testing.assert_close(out.spatial, mask.mean(dim=1, keepdim=True))
