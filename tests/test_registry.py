import pytest

from wsol.errors import ConfigError, RegistryError
from wsol.registry import Registry


def make_registry() -> Registry:
    reg = Registry("widget")

    @reg.register("alpha_net")
    class Alpha:
        def __init__(self, width: int = 1, depth: int = 2) -> None:
            self.width, self.depth = width, depth

    @reg.register("beta_net")
    def beta(num_classes: int, scale: float = 1.0):
        return ("beta", num_classes, scale)

    @reg.register("gamma")
    def gamma(**kwargs):
        return kwargs

    return reg


def test_build_passes_options_and_accepted_context():
    reg = make_registry()
    alpha = reg.build({"name": "alpha_net", "width": 4}, num_classes=10)  # context not accepted: dropped
    assert (alpha.width, alpha.depth) == (4, 2)
    assert reg.build("beta_net", num_classes=3) == ("beta", 3, 1.0)
    assert reg.build({"name": "gamma", "x": 1}, num_classes=2) == {"x": 1, "num_classes": 2}


def test_list_with_wildcards():
    reg = make_registry()
    assert reg.list() == ["alpha_net", "beta_net", "gamma"]
    assert reg.list("*_net") == ["alpha_net", "beta_net"]
    assert reg.list(["g*", "a*"]) == ["alpha_net", "gamma"]
    assert "gamma" in reg and "delta" not in reg and len(reg) == 3


def test_unknown_name_suggests_close_match():
    reg = make_registry()
    with pytest.raises(RegistryError, match=r"unknown widget 'alpha_nt' \(did you mean 'alpha_net'"):
        reg.get("alpha_nt")
    with pytest.raises(RegistryError, match="known: alpha_net, beta_net, gamma"):
        reg.get("zzz")


def test_unknown_option_names_key_and_suggests():
    reg = make_registry()
    with pytest.raises(ConfigError, match=r"model.head: unknown option 'widht' .*did you mean 'width'"):
        reg.build({"name": "alpha_net", "widht": 3}, key="model.head")
    with pytest.raises(ConfigError, match="missing 'name'"):
        reg.build({"width": 3})


def test_duplicate_registration_rejected():
    reg = make_registry()
    with pytest.raises(RegistryError, match="already registered"):
        reg.register("gamma")(lambda: None)


@pytest.mark.parametrize(
    "module, registry",
    [
        ("wsol.models.heads", "HEADS"),
        ("wsol.methods", "METHODS"),
        ("wsol.data.datasets", "DATASETS"),
        ("wsol.metrics", "METRICS"),
        ("wsol.models.backbones", "BACKBONES"),
    ],
)
def test_project_registries_document_their_contract(module, registry):
    import importlib

    mod = importlib.import_module(module)
    assert isinstance(getattr(mod, registry), Registry)
    assert "Contract" in mod.__doc__
