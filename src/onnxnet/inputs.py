"""From anything a user hands in to rows in the benchmark-store schema: the one way networks enter a predictor.

Accepted: a path to an ``.onnx`` file, its bytes, an ``onnx.ModelProto``, a ``torch.nn.Module`` (with
``input_shape``), a store row (a mapping or ``pandas.Series`` with an ``onnx`` column), store rows
(a ``DataFrame``), or a list of any of these. Every file is read once: its metadata (e.g. an ONNX-Bench
accuracy) is kept from that read before the graph is loaded, checked, simplified and canonicalised by
``onnxnet.graph.load_model`` into the store's canonical form.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Iterable, Sequence

from onnxnet.errors import ModelLoadError
from onnxnet.graph import graph_facts, graph_hash
from onnxnet.graph.load import load_model, read_model

#: The columns ``as_rows`` gives every network (``metadata``: the file's ``metadata_props`` as a dict).
ROW_COLUMNS: tuple[str, ...] = ("id", "space", "graph_hash", "onnx", "n_params", "flops", "metadata")


def is_rows(obj: Any) -> bool:
    """Whether ``obj`` is a table of rows (a ``pandas.DataFrame``)."""
    return hasattr(obj, "columns") and hasattr(obj, "iterrows")


def is_row(obj: Any) -> bool:
    """Whether ``obj`` is one store row: a mapping or ``pandas.Series`` holding ``onnx`` bytes."""
    if isinstance(obj, (str, bytes, bytearray, os.PathLike)) or is_rows(obj):
        return False
    return hasattr(obj, "get") and hasattr(obj, "keys") and "onnx" in obj.keys()


def as_items(models: Any) -> list[Any]:
    """The single networks in ``models``: a DataFrame becomes its rows (``{"onnx": bytes}``), a single network a
    one-item list, any other iterable a list."""
    if is_rows(models):
        if "onnx" not in models.columns:
            raise ModelLoadError("the rows have no 'onnx' column; pass benchmark-store rows (BenchStore.read())")
        return [{"onnx": b} for b in models["onnx"]]
    if isinstance(models, (str, os.PathLike, bytes, bytearray)) or not isinstance(models, Iterable):
        return [models]
    if hasattr(models, "graph") and hasattr(models, "SerializeToString") or is_row(models):  # one network
        return [models]
    if hasattr(models, "forward") and hasattr(models, "parameters"):  # one torch module (nn.Sequential iterates)
        return [models]
    return list(models)


# Loaded files are cached under ``<cache_dir>/loaded-<LOAD_CACHE_TAG>/`` by the SHA-256 of their bytes; the tag
# changes with the versions of onnxnet and of the tools that simplify and canonicalise.
def _load_tag() -> str:
    import onnx

    import onnxnet

    return f"onnxnet{onnxnet.__version__}-onnx{onnx.__version__}"


def _cached_row(item: Any, cache_dir: str | os.PathLike[str], load: Any) -> dict[str, Any]:
    """``load()``'s row for a file or bytes ``item``, read from / written to the load cache by content hash."""
    import hashlib
    import json

    from onnxnet import atomic

    data = Path(item).read_bytes() if isinstance(item, (str, os.PathLike)) else bytes(item)
    key = hashlib.sha256(data).hexdigest()
    folder = Path(cache_dir) / f"loaded-{_load_tag()}" / key[:2]
    meta, graph = folder / f"{key}.json", folder / f"{key}.onnx"
    if meta.is_file() and graph.is_file():
        try:
            return {**json.loads(meta.read_text()), "onnx": graph.read_bytes()}
        except (OSError, ValueError):
            pass  # a damaged entry is loaded again and rewritten
    row = load()
    atomic.write_bytes(graph, row["onnx"])
    atomic.write_json(meta, {k: v for k, v in row.items() if k not in ("onnx", "id", "space")})
    return row


def _row(item: Any, index: int, space: str, input_shape: Sequence[int] | None,
         cache_dir: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    if cache_dir is not None and isinstance(item, (str, os.PathLike, bytes, bytearray)):
        name = os.fspath(item) if isinstance(item, (str, os.PathLike)) else f"model{index}"
        row = _cached_row(item, cache_dir, lambda: _row(item, index, space, input_shape))
        return {**row, "id": name, "space": space}
    if isinstance(item, (str, os.PathLike)):
        name = os.fspath(item)
        raw = read_model(Path(item))  # the only read of the file (external weights beside it included)
    elif isinstance(item, (bytes, bytearray)):
        name, raw = f"model{index}", read_model(bytes(item))
    elif hasattr(item, "graph") and hasattr(item, "SerializeToString"):
        name, raw = f"model{index}", item
    else:  # a torch module (load_model explains what else it could have been)
        name, raw = f"model{index}", None
    metadata = {p.key: p.value for p in raw.metadata_props} if raw is not None else {}
    model = load_model(raw if raw is not None else item, input_shape, name=name)
    facts = graph_facts(model)
    return {"id": name, "space": space, "graph_hash": graph_hash(model), "onnx": model.SerializeToString(),
            "n_params": int(facts.n_params), "flops": int(facts.flops), "metadata": metadata}


def model_row(model: Any, name: str, space: str, facts: Any = None, digest: str | None = None) -> dict[str, Any]:
    """One store-like row of a model already loaded by ``load_model``; ``facts`` and ``digest`` (its
    ``graph_facts`` and ``graph_hash``) are computed unless given."""
    facts = facts if facts is not None else graph_facts(model)
    return {"id": name, "space": space, "graph_hash": digest or graph_hash(model), "onnx": model.SerializeToString(),
            "n_params": int(facts.n_params), "flops": int(facts.flops), "metadata": {}}


def as_rows(models: Any, space: str = "user", *, input_shape: Sequence[int] | None = None,
            cache_dir: str | os.PathLike[str] | None = None) -> Any:
    """Store-like rows (``ROW_COLUMNS``) for any accepted input, so predictors fitted on benchmark rows score
    user networks. Store rows pass through unchanged (a single row becomes a one-row frame); ``space`` groups
    the other networks for predictors that rank within a space. ``cache_dir``: files and bytes already loaded
    (same content) come from the load cache there instead of being simplified and canonicalised again. Bad input
    is a ``ModelLoadError`` naming it."""
    import pandas as pd

    if is_rows(models):
        return models
    if is_row(models):
        return pd.DataFrame([dict(models)])
    return pd.DataFrame([dict(it) if is_row(it) else _row(it, i, space, input_shape, cache_dir)
                         for i, it in enumerate(as_items(models))])


def metadata_value(rows: Any, key: str) -> list[float | None]:
    """Per row, the finite number stored under ``key`` in its file's metadata (e.g. ONNX-Bench's ``accuracy``),
    else ``None``."""
    import math

    out: list[float | None] = []
    meta = rows["metadata"] if "metadata" in getattr(rows, "columns", ()) else [None] * len(rows)
    for m in meta:
        try:
            v = float((m or {}).get(key))  # type: ignore[arg-type]
        except (TypeError, ValueError):
            v = math.nan
        out.append(v if math.isfinite(v) else None)
    return out
