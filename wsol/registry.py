"""A small name -> constructor registry, in the style of timm's model registry.

Each registry lives next to the members it holds and documents, in its own module
docstring, the contract those members keep. Members register with a decorator::

    @HEADS.register("cam")
    class CAMHead(nn.Module): ...

and are built from a config mapping whose ``name`` selects the member and whose
other keys are keyword arguments, checked against the member's signature::

    head = HEADS.build({"name": "cam", "pooling": "gap"}, in_channels=512, num_classes=10)

Unknown names, unknown keyword arguments and values outside an option's ``Literal[...]``
annotation raise one-line errors that list close matches (:meth:`Registry.check`).
"""

from __future__ import annotations

import fnmatch
import importlib
import inspect
import pkgutil
from collections.abc import Callable, Iterator, Mapping
from typing import Any, Generic, Literal, TypeVar, get_args, get_origin, get_type_hints

from wsol.errors import ConfigError, RegistryError, check_choice, did_you_mean

T = TypeVar("T", bound=Callable[..., Any])


class Registry(Generic[T]):
    """Maps names to constructors (classes or factory functions).

    Args:
        kind: what the members are, used in messages (``"head"``, ``"explainer"``).
        package: dotted package whose submodules are imported on first use, so that a
            member registers itself by merely existing as a file in that package.
    """

    def __init__(self, kind: str, package: str | None = None) -> None:
        self.kind = kind
        self._package = package
        self._members: dict[str, T] = {}
        self._loaded = package is None

    def register(self, name: str | None = None) -> Callable[[T], T]:
        """Decorator registering a constructor under ``name`` (default: its ``__name__``)."""

        def decorator(obj: T) -> T:
            key = name or obj.__name__
            if key in self._members and self._members[key] is not obj:
                raise RegistryError(f"{self.kind} {key!r} is already registered")
            self._members[key] = obj
            return obj

        return decorator

    def _load(self) -> None:
        if self._loaded:
            return
        self._loaded = True
        package = importlib.import_module(self._package)
        for info in pkgutil.iter_modules(package.__path__):
            if not info.name.startswith("_"):
                importlib.import_module(f"{self._package}.{info.name}")

    def get(self, name: str) -> T:
        """Return the constructor registered as ``name``."""
        self._load()
        try:
            return self._members[name]
        except KeyError:
            hint = did_you_mean(name, self._members) or f" (known: {', '.join(sorted(self._members))})"
            raise RegistryError(f"unknown {self.kind} {name!r}{hint}") from None

    def list(self, pattern: str | list[str] = "*") -> list[str]:
        """Sorted member names matching a shell-style wildcard (or any of several)."""
        self._load()
        patterns = [pattern] if isinstance(pattern, str) else pattern
        return sorted(n for n in self._members if any(fnmatch.fnmatchcase(n, p) for p in patterns))

    def build(self, cfg: Mapping[str, Any] | str, key: str = "", **context: Any) -> Any:
        """Build a member from ``{"name": ..., **kwargs}`` (or a bare name).

        ``context`` holds arguments supplied by the caller rather than the user (e.g.
        ``num_classes``); they are passed only if the member's signature accepts them.
        ``key`` is the config path used in error messages (e.g. ``"model.head"``).
        """
        ctor, options = self.check(cfg, key)
        accepted = _accepted_kwargs(ctor)
        if accepted is not None:
            context = {k: v for k, v in context.items() if k in accepted}
        return ctor(**context, **options)

    def check(self, cfg: Mapping[str, Any] | str, key: str = "") -> tuple[T, dict[str, Any]]:
        """The member and options of ``cfg``, checked without building anything.

        Raises :class:`ConfigError` naming ``key`` for a missing or unknown name, an
        option the member's signature does not accept, or a value outside an option's
        ``Literal[...]`` annotation. The config loader calls this for every registry
        spec of a run config, so such mistakes surface when the config loads.
        """
        spec = {"name": cfg} if isinstance(cfg, str) else dict(cfg)
        where = f"{key}: " if key else ""
        if "name" not in spec:
            raise ConfigError(f"{where}missing 'name' of the {self.kind}")
        try:
            ctor = self.get(spec.pop("name"))
        except RegistryError as err:
            raise RegistryError(f"{where}{err}") from None
        accepted = _accepted_kwargs(ctor)
        if accepted is not None:
            for arg in spec:
                if arg not in accepted:
                    hint = did_you_mean(arg, accepted)
                    raise ConfigError(f"{where}unknown option {arg!r} for {self.kind} {ctor.__name__}{hint}")
        for arg, choices in _literal_options(ctor).items():
            if arg in spec:
                check_choice(spec[arg], choices, f"{key or self.kind}.{arg}")
        return ctor, spec

    def __contains__(self, name: object) -> bool:
        self._load()
        return name in self._members

    def __iter__(self) -> Iterator[str]:
        return iter(self.list())

    def __len__(self) -> int:
        self._load()
        return len(self._members)

    def __repr__(self) -> str:
        return f"Registry({self.kind!r}, {len(self)} members)"


def _accepted_kwargs(ctor: Callable[..., Any]) -> list[str] | None:
    """Keyword names ``ctor`` accepts, or None if it takes ``**kwargs``."""
    params = inspect.signature(ctor).parameters.values()
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params):
        return None
    return [p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]


def _literal_options(ctor: Callable[..., Any]) -> dict[str, tuple[Any, ...]]:
    """``{option: allowed values}`` for the options of ``ctor`` annotated ``Literal[...]``."""
    target = ctor.__init__ if inspect.isclass(ctor) else ctor
    try:
        hints = get_type_hints(target)
    except Exception:  # unresolvable forward references: no value checks, as before
        return {}
    return {name: get_args(hint) for name, hint in hints.items() if get_origin(hint) is Literal}
