"""Turn whatever a user hands the surrogate (paths, bytes, ModelProtos, torch modules, store rows) into text.

Encodings are cached in memory, keyed by the encoding's name and version and by a digest of the graph, so
scoring the same network twice (or ranking a search population repeatedly) encodes it once.
"""

from __future__ import annotations

import hashlib
import os
from collections import OrderedDict
from pathlib import Path
from typing import Any, Iterable, Sequence

from onnxnet.errors import ModelLoadError


def encoding_version(encoding: str) -> str:
    """The registered version of ``encoding`` (part of every cache key and of a saved surrogate's settings)."""
    from onnxnet.encode import ENCODINGS

    cls = ENCODINGS.get(encoding)
    return str(getattr(cls, "version", "?"))


class EncodingCache:
    """An LRU map from (encoding, version, graph digest) to text."""

    def __init__(self, max_items: int = 100_000) -> None:
        self.max_items = int(max_items)
        self._d: OrderedDict[tuple[str, str, str], str] = OrderedDict()
        self.hits = 0
        self.misses = 0

    def get(self, key: tuple[str, str, str]) -> str | None:
        v = self._d.get(key)
        if v is None:
            self.misses += 1
            return None
        self.hits += 1
        self._d.move_to_end(key)
        return v

    def put(self, key: tuple[str, str, str], text: str) -> None:
        self._d[key] = text
        self._d.move_to_end(key)
        while len(self._d) > self.max_items:
            self._d.popitem(last=False)

    def clear(self) -> None:
        self._d.clear()
        self.hits = self.misses = 0

    def __len__(self) -> int:
        return len(self._d)


def _row_model(src: bytes) -> Any:
    """A store row's graph as a user's file of the same network would load.

    Stores keep weight-free ONNX; rendered as it is, its empty weights all look alike and the text differs from
    the text of the same network loaded from a real file (shared constants, less folding). Placeholder weights
    (``onnxnet.bench.weights.materialize``) and the loader's canonicalisation (no simplifier: the stored graph is
    already simplified) give the file's text exactly, so training texts and prediction texts agree.
    """
    import onnx

    from onnxnet.graph import load_model

    try:
        model = onnx.load_from_string(src)
    except Exception as e:
        raise ModelLoadError(f"store row holds unreadable ONNX bytes ({e}); rebuild the store") from None
    try:
        from onnxnet.bench.weights import is_weight_free, materialize
    except ImportError:  # an onnxnet without the store's weight helpers
        return model
    if is_weight_free(model):
        model = load_model(materialize(model), simplifier=None)
    return model


def _digest(data: bytes) -> str:
    return hashlib.sha1(data).hexdigest()


def _is_rows(obj: Any) -> bool:
    return hasattr(obj, "columns") and hasattr(obj, "iterrows")


def as_items(models: Any) -> list[Any]:
    """Normalise the many accepted input forms to a list of single networks."""
    if _is_rows(models):
        if "onnx" not in models.columns:
            raise ModelLoadError("the rows have no 'onnx' column; pass benchmark-store rows (BenchStore.read())")
        return [{"onnx": b} for b in models["onnx"]]
    if isinstance(models, (str, os.PathLike, bytes, bytearray)) or not isinstance(models, Iterable):
        return [models]
    if hasattr(models, "graph") and hasattr(models, "SerializeToString"):  # a single ModelProto
        return [models]
    return list(models)


def encode_items(items: Sequence[Any], encoding: str, *, input_shape: Sequence[int] | None = None,
                 cache: EncodingCache | None = None, simplify: bool = True) -> list[str]:
    """Encode each network as text with ``onnxnet.encode.encode`` (graphs loaded by ``onnxnet.graph.load_model``).

    Store rows hold canonical, simplified graphs already (see ``_row_model``); files, bytes and torch modules go
    through the full loading pipeline (``simplify=False`` skips the simplifier for graphs known to be simplified;
    they are still checked and canonicalised). A network gives the same text whichever form it comes in.
    """
    from onnxnet.encode import encode
    from onnxnet.graph import load_model

    version = encoding_version(encoding)
    out: list[str] = []
    for it in items:
        key: tuple[str, str, str] | None = None
        simplifier: str | None = "onnxsim" if simplify else None
        src: Any = it
        kwargs: dict[str, Any] = {}
        is_row = isinstance(it, dict) or (hasattr(it, "get") and hasattr(it, "index") and not isinstance(it, (str, bytes)))
        if is_row:  # a store row: canonical, simplified ONNX, read as the store's own encoding cache reads it
            src = bytes(it["onnx"])
            key = (encoding, version, _digest(src))
        elif isinstance(it, (bytes, bytearray)):  # serialised ONNX from anywhere: the full loading pipeline
            src = bytes(it)
            key = (encoding, version, _digest(src) + f":{simplify}")
        elif isinstance(it, (str, os.PathLike)):
            p = Path(it)
            if not p.is_file():
                raise ModelLoadError(f"{p}: no such ONNX file; pass an existing .onnx path")
            st = p.stat()
            key = (encoding, version, f"{p.resolve()}:{st.st_mtime_ns}:{st.st_size}:{simplify}")
        elif hasattr(it, "SerializeToString"):
            key = (encoding, version, _digest(it.SerializeToString()))
        else:  # torch module: no cheap stable digest, so not cached
            if input_shape is None:
                raise ModelLoadError(
                    f"a {type(it).__name__} was passed without input_shape; pass input_shape=(1, 3, 32, 32) "
                    "(or the network's own input shape) so it can be exported to ONNX"
                )
            kwargs["input_shape"] = tuple(input_shape)
        if cache is not None and key is not None:
            hit = cache.get(key)
            if hit is not None:
                out.append(hit)
                continue
        if is_row:
            model = _row_model(src)
        else:
            model = load_model(src, simplifier=simplifier, **kwargs)
        text = encode(model, encoding=encoding)
        if cache is not None and key is not None:
            cache.put(key, text)
        out.append(text)
    return out


def as_rows(models: Any, space: str = "user") -> Any:
    """Store-like rows (``id``, ``space``, ``graph_hash``, ``onnx``, ``n_params``, ``flops``) for any accepted
    input form, so predictors fitted on benchmark rows (``onnxnet-hybrid``, ``gbm``...) score user networks.

    Files, bytes and torch modules go through ``onnxnet.graph.load_model`` (the store's canonical form); rows
    pass through unchanged. ``space`` groups the networks for predictors that normalise per space.
    """
    import pandas as pd

    from onnxnet.graph import load_model

    if _is_rows(models):
        return models
    out = []
    for i, item in enumerate(as_items(models)):
        name = os.fspath(item) if isinstance(item, (str, os.PathLike)) else f"model{i}"
        out.append(model_row(load_model(item), name, space))
    return pd.DataFrame(out)


def model_row(model: Any, name: str, space: str, facts: Any = None, digest: str | None = None) -> dict[str, Any]:
    """One store-like row (see ``as_rows``) of a model loaded by ``onnxnet.graph.load_model``; ``facts`` and
    ``digest`` (its ``graph_facts`` and ``graph_hash``) are computed unless given."""
    from onnxnet.graph import graph_facts, graph_hash

    facts = facts if facts is not None else graph_facts(model)
    return {"id": name, "space": space, "graph_hash": digest or graph_hash(model), "onnx": model.SerializeToString(),
            "n_params": int(facts.n_params), "flops": int(facts.flops)}
