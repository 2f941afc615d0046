"""Typer options generated from a hyperparameter dataclass (``onnxnet.hparams``), as onnxslim does with its option
dataclasses: one ``--field-name`` option per field, with the field's default and help, so the CLI cannot drift from
the declaration. Used by ``onnxnet train`` and ``onnxnet pretrain``."""

from __future__ import annotations

import functools
import inspect
import typing
from typing import Any, Callable, Optional

import typer

from onnxnet.errors import ConfigError
from onnxnet.hparams import HParam, config_from, hparams


def option_name(field: str) -> str:
    """``lr_grid`` -> ``--lr-grid``."""
    return "--" + field.replace("_", "-")


def _is_optional(tp: Any) -> tuple[bool, Any]:
    args = typing.get_args(tp)
    if type(None) in args and len(args) == 2:
        return True, next(a for a in args if a is not type(None))
    return False, tp


def _option(h: HParam) -> tuple[Any, Any]:
    """(annotation, typer.Option) for one field; tuples are typed as comma-separated text."""
    optional, tp = _is_optional(h.type)
    if typing.get_origin(tp) is tuple:
        text = ",".join(f"{v:g}" if isinstance(v, float) else str(v) for v in h.default)
        return str, typer.Option(text, option_name(h.name), help=h.help)
    if tp is bool:
        flag = option_name(h.name)
        return bool, typer.Option(h.default, f"{flag}/--no-{flag[2:]}", help=h.help)
    return (Optional[tp] if optional else tp), typer.Option(h.default, option_name(h.name), help=h.help)


def _parse(h: HParam, value: Any) -> Any:
    """The command-line value of field ``h`` as the dataclass wants it."""
    _, tp = _is_optional(h.type)
    if typing.get_origin(tp) is not tuple:
        return value
    item = typing.get_args(tp)[0]
    parts = [v.strip() for v in str(value).split(",") if v.strip()]
    try:
        return tuple(item(v) for v in parts)
    except ValueError:
        raise ConfigError(f"{option_name(h.name)} {value!r}: expected {item.__name__} values separated by commas, "
                           "e.g. 1e-3,3e-4") from None


def config_options(config_cls: type, *, param: str = "config") -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorate a command ``f(..., config)`` so that Typer sees one option per CLI field of ``config_cls`` instead
    of ``config``, and ``f`` receives the filled-in ``config_cls`` instance."""
    fields = [h for h in hparams(config_cls) if h.cli]

    def decorate(f: Callable[..., Any]) -> Callable[..., Any]:
        sig = inspect.signature(f, eval_str=True)
        own = [p for p in sig.parameters.values() if p.name != param]
        clash = {p.name for p in own} & {h.name for h in fields}
        if clash or param not in sig.parameters:
            raise TypeError(f"{f.__name__}: takes {param!r} and none of {sorted(clash)} (fields of "
                            f"{config_cls.__name__})")
        generated = []
        for h in fields:
            annotation, default = _option(h)
            generated.append(inspect.Parameter(h.name, inspect.Parameter.KEYWORD_ONLY, default=default,
                                               annotation=annotation))

        @functools.wraps(f)
        def command(**kwargs: Any) -> Any:
            values = {h.name: _parse(h, kwargs.pop(h.name)) for h in fields}
            return f(**kwargs, **{param: config_from(config_cls, values)})

        params = [p.replace(kind=inspect.Parameter.KEYWORD_ONLY) for p in own] + generated
        command.__signature__ = sig.replace(parameters=params)  # type: ignore[attr-defined]
        command.__annotations__ = {p.name: p.annotation for p in params}
        del command.__wrapped__  # Typer must read the generated signature, not f's
        return command

    return decorate
