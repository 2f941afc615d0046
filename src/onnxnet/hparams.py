"""One declaration per hyperparameter set: a dataclass whose fields carry their default and help text.

``TrainConfig`` and ``PretrainConfig`` are declared this way; the CLI options of ``onnxnet train`` / ``pretrain``
(``onnxnet.cli.config_options``) and the constructor signatures of the predictors that wrap them are generated from the
fields, so a new hyperparameter is one line in one place. Standard library only (a bottom layer).
"""

from __future__ import annotations

import dataclasses
import inspect
import typing
from dataclasses import dataclass
from typing import Any

_MISSING = dataclasses.MISSING


def hparam(default: Any = _MISSING, help: str = "", *, factory: Any = _MISSING, cli: bool = True) -> Any:
    """A dataclass field with its help text; ``cli=False`` for values the command line cannot carry (dicts)."""
    meta = {"help": help, "cli": cli}
    if factory is not _MISSING:
        return dataclasses.field(default_factory=factory, metadata=meta)
    return dataclasses.field(default=default, metadata=meta)


@dataclass(frozen=True)
class HParam:
    """One field of a hyperparameter dataclass, with its type resolved."""

    name: str
    type: Any
    default: Any
    help: str
    cli: bool


def hparams(cls: type) -> list[HParam]:
    """The fields of the hyperparameter dataclass ``cls``, in declaration order."""
    hints = typing.get_type_hints(cls)
    out = []
    for f in dataclasses.fields(cls):
        default = f.default if f.default is not _MISSING else f.default_factory()  # type: ignore[misc]
        out.append(HParam(f.name, hints[f.name], default, f.metadata.get("help", ""), f.metadata.get("cli", True)))
    return out


def keyword_parameters(cls: type, *, prefix: str = "", exclude: tuple[str, ...] = ()) -> list[inspect.Parameter]:
    """``cls``'s fields as keyword parameters (named ``prefix + field``) with the fields' defaults."""
    return [inspect.Parameter(prefix + h.name, inspect.Parameter.KEYWORD_ONLY, default=h.default, annotation=h.type)
            for h in hparams(cls) if h.name not in exclude]


def config_from(cls: type, values: dict[str, Any], *, prefix: str = "", **fixed: Any) -> Any:
    """An instance of ``cls`` from ``values`` keyed ``prefix + field`` (missing ones keep their defaults)."""
    kw: dict[str, Any] = {}
    for h in hparams(cls):
        if prefix + h.name in values:
            v = values[prefix + h.name]
            if typing.get_origin(h.type) is tuple and v is not None:
                v = tuple(v)  # tuples arrive as lists from JSON and the command line
            elif isinstance(v, dict):
                v = dict(v)  # never share a caller's (or a signature default's) dict
            kw[h.name] = v
    kw.update(fixed)
    return cls(**kw)


def set_hparams(obj: Any, cls: type, values: dict[str, Any], *, prefix: str = "",
                exclude: tuple[str, ...] = ()) -> None:
    """Set each field of ``cls`` (but ``exclude``) on ``obj`` as attribute ``prefix + field``: from ``values``, else
    its default (scikit-learn style: constructor arguments kept as given). Unknown names are a ``TypeError``."""
    fields = {prefix + h.name: h for h in hparams(cls) if h.name not in exclude}
    unknown = sorted(set(values) - set(fields))
    if unknown:
        raise TypeError(f"{type(obj).__name__}() got unexpected parameter(s) {', '.join(unknown)}; "
                        f"it takes {', '.join(fields)}")
    for name, h in fields.items():
        setattr(obj, name, values[name] if name in values else h.default)


def extend_signature(func: Any, cls: type, *, prefix: str = "", exclude: tuple[str, ...] = ()) -> None:
    """Give ``func(self, ..., **config)`` the signature with ``cls``'s fields in place of ``**config``, so that
    ``inspect.signature`` (``get_params``, ``--param`` checks, help) lists each hyperparameter."""
    sig = inspect.signature(func)
    own = [p for p in sig.parameters.values() if p.kind is not inspect.Parameter.VAR_KEYWORD]
    own = [p.replace(kind=inspect.Parameter.KEYWORD_ONLY) if p.name != "self" else p for p in own]
    func.__signature__ = sig.replace(parameters=own + keyword_parameters(cls, prefix=prefix, exclude=exclude))
