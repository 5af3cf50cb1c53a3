import importlib
import re
from pathlib import Path

import pytest

from wsol.errors import ConfigError, RegistryError
from wsol.registry import Registry

TESTS = Path(__file__).parent
WSOL = TESTS.parent / "wsol"
REGISTRY_LINE = re.compile(r"^([A-Z_]+) = Registry\(", re.MULTILINE)


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


def project_registries() -> list[tuple[str, str]]:
    """``(module, name)`` of every ``NAME = Registry(...)`` in wsol's source."""
    found = []
    for path in sorted(WSOL.rglob("*.py")):
        module = ".".join(path.relative_to(WSOL.parent).with_suffix("").parts).removesuffix(".__init__")
        found += [(module, name) for name in REGISTRY_LINE.findall(path.read_text())]
    return found


@pytest.mark.parametrize("module, name", project_registries())
def test_project_registry_members_live_in_its_package(module, name):
    registry = getattr(importlib.import_module(module), name)
    members = registry.list()
    assert members, f"{module}.{name} has no member"
    for member in members:
        assert re.fullmatch(r"[a-z][a-z0-9_]*", member), f"{name}: {member!r} is not lowercase snake case"
        assert registry.get(member).__module__.startswith(module + "."), f"{member} is outside {module}"


@pytest.mark.parametrize("module, name", project_registries())
def test_project_registry_has_contract_tests_over_every_member(module, name):
    tests = [p.name for p in TESTS.glob("test_*.py") if f"{name}.list()" in p.read_text()]
    assert any("parametrize" in (TESTS / t).read_text() for t in tests), (
        f"no test parametrised over {name}.list() (the contract of {module} on every member)"
    )
