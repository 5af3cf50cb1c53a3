"""User-facing errors.

Every problem caused by the user's input (a config typo, a missing file, a corrupt
image, an unknown registry name) is raised as a :class:`WSOLError` subclass whose
message is one line naming the offending key, file or image id. The command-line
tools catch :class:`WSOLError` and print that line instead of a traceback.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from typing import TypeVar

C = TypeVar("C")

# torch.utils.data._utils.ExceptionWrapper.reraise: f"Caught {name} {where}.\nOriginal {traceback}"
_WORKER_WRAPPED = re.compile(r"Caught \w+ in .*\.\nOriginal Traceback", re.DOTALL)


class WSOLError(Exception):
    """Base class of the errors that the tools report as one line.

    A WSOLError raised in a DataLoader worker (or its pin-memory thread) reaches the main
    process re-created by PyTorch from ``"Caught DataError in DataLoader worker process 0.
    Original Traceback ..."``; the constructor keeps only the original one-line message,
    so the user sees the same line as when the sample is loaded in the main process.
    """

    def __init__(self, *args: object) -> None:
        if len(args) == 1 and isinstance(args[0], str) and _WORKER_WRAPPED.match(args[0]):
            args = (_original_message(args[0]),)
        super().__init__(*args)


class ConfigError(WSOLError, KeyError):
    """A config key or value is wrong (unknown key, wrong type, bad value)."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class RegistryError(WSOLError, KeyError):
    """An unknown name was asked of a registry."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class DataError(WSOLError, ValueError):
    """A dataset file, image or annotation is missing or invalid."""


class CheckpointError(WSOLError, RuntimeError):
    """A checkpoint is missing, truncated or incompatible."""


def did_you_mean(name: str, choices: Iterable[str], prefix: str = "", n: int = 3) -> str:
    """Return `` (did you mean 'a', 'b'?)`` for the choices closest to ``name``, or ``""``.

    ``prefix`` is prepended to each suggestion (e.g. ``"optim."`` for config keys).
    """
    close = difflib.get_close_matches(name, list(choices), n=n, cutoff=0.5)
    if not close:
        return ""
    return " (did you mean " + ", ".join(repr(prefix + c) for c in close) + "?)"


def check_choice(value: C, choices: Iterable[C], key: str) -> C:
    """Return ``value`` if it is one of ``choices``, else a one-line :class:`ConfigError`
    ``"<key>: 'x' is not one of 'a', 'b' (did you mean 'a'?)"``.

    The one check for every option with a fixed set of values (config choices, registry
    members' ``Literal`` options, metric options); ``key`` names the config key or option.
    """
    options = list(choices)
    if value in options:
        return value
    known = ", ".join(repr(c) for c in options)
    hint = did_you_mean(value, [str(c) for c in options]) if isinstance(value, str) else ""
    raise ConfigError(f"{key}: {value!r} is not one of {known}{hint}")


def _original_message(wrapped: str) -> str:
    """The message of the exception a worker raised: the traceback's last line minus the
    exception's name (``wsol.errors.DataError: <message>``)."""
    last = wrapped.rstrip().splitlines()[-1]
    name, sep, message = last.partition(": ")
    return message if sep and name.rsplit(".", 1)[-1].endswith("Error") else wrapped
