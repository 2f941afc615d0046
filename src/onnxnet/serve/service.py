"""What the HTTP service does, without the web: load a saved predictor once, score ONNX files, encode them.

``PredictionService(folder)`` holds one predictor (a folder from ``onnxnet fit`` or ``onnxnet train``). For each
file it loads the graph (``onnxnet.graph.load_model``: structure only for big files), takes its facts, hash and
encoding, scores it as a network of a space, and places the score among the recorded scores of that space's
training networks (``Predictor.reference_rank``). Results are cached twice: by the file's bytes (a repeated
upload costs one SHA-256) and by graph hash + space (the same network exported twice is scored once). The caches
live in memory and, when ``cache_dir`` is given, as one JSON file per key there, shared by the server's workers.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import time
from collections import OrderedDict
from pathlib import Path
from typing import Any, Sequence

from onnxnet.errors import ModelLoadError, OnnxNetError, ProtocolError

#: Bump when the result dict changes shape, so old cache files are not read.
RESULT_VERSION = 1
#: Space name for networks of no fitted space: they are ranked among the files scored together.
UNSEEN = "user"


class ScoringError(ProtocolError):
    """A request the service cannot score as asked (unknown space, nothing to rank against)."""


def file_digest(path: str | os.PathLike[str], chunk: int = 1 << 22) -> str:
    """SHA-256 of a file, read in chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


class _Cache:
    """LRU in memory plus (optionally) one JSON file per key in a folder shared by processes."""

    def __init__(self, folder: Path | None, max_items: int = 4096) -> None:
        self.folder = folder
        self.max_items = max_items
        self._d: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = self.misses = 0
        if folder is not None:
            folder.mkdir(parents=True, exist_ok=True)

    def get(self, key: str) -> dict[str, Any] | None:
        with self._lock:
            v = self._d.get(key)
            if v is not None:
                self._d.move_to_end(key)
        if v is None and self.folder is not None:
            try:
                v = json.loads((self.folder / f"{key}.json").read_text())
            except (OSError, ValueError):
                v = None
            if v is not None:
                self._remember(key, v)
        with self._lock:
            if v is None:
                self.misses += 1
            else:
                self.hits += 1
        return v

    def put(self, key: str, value: dict[str, Any]) -> None:
        self._remember(key, value)
        if self.folder is not None:
            from onnxnet.atomic import write_json

            write_json(self.folder / f"{key}.json", value)

    def _remember(self, key: str, value: dict[str, Any]) -> None:
        with self._lock:
            self._d[key] = value
            self._d.move_to_end(key)
            while len(self._d) > self.max_items:
                self._d.popitem(last=False)


class PredictionService:
    """One loaded predictor and what the HTTP endpoints ask of it (see the module docstring)."""

    def __init__(self, folder: str | os.PathLike[str], cache_dir: str | os.PathLike[str] | None = None,
                 encoding: str = "compact") -> None:
        from onnxnet.predictors.loading import is_predictor_folder

        self.folder = Path(folder)
        self.encoding = encoding
        if is_predictor_folder(self.folder):
            from onnxnet.predictors import load_predictor

            self.predictor: Any = load_predictor(self.folder)
            self.surrogate: Any = None
        elif (self.folder / "surrogate.json").is_file():
            from onnxnet.surrogate.surrogate import Surrogate

            self.predictor, self.surrogate = None, Surrogate.from_pretrained(self.folder)
        else:
            raise ScoringError(f"{self.folder}: not a saved predictor (no predictor.json, hybrid.json or "
                               "surrogate.json); pass a folder made by `onnxnet fit` or `onnxnet train`")
        self.id = hashlib.sha256(f"{self.folder.resolve()}:{self._stamp()}:{RESULT_VERSION}".encode()).hexdigest()[:16]
        cache = Path(cache_dir) / self.id if cache_dir is not None else None
        self.files = _Cache(cache / "files" if cache else None)
        self.graphs = _Cache(cache / "graphs" if cache else None)
        # features_frame caches graph features and proxies by graph hash: share that cache too
        if self.predictor is not None and cache is not None and hasattr(self.predictor, "cache_dir"):
            self.predictor.cache_dir = str(cache / "features")
        self._lock = threading.Lock()  # predictors keep per-call state (failures_): one scoring at a time

    def warm_up(self) -> None:
        """Import what scoring needs (ONNX, the simplifier, the predictor's libraries) now, not in a first request.
        LightGBM is not among them: saved tree models are scored with numpy (``onnxnet.predictors.trees``)."""
        import importlib

        for name in ("onnx", "onnxsim", "pandas", "torch", "onnxnet.encode", "onnxnet.graph",
                     "onnxnet.predictors.graph_features", "onnxnet.predictors.onnx_proxies"):
            try:
                importlib.import_module(name)
            except ImportError:  # an optional library this predictor does not use
                pass

    def _stamp(self) -> str:
        """Modification times of the folder's files: a refitted predictor gets fresh cache keys."""
        return ",".join(f"{p.name}:{p.stat().st_mtime_ns}" for p in sorted(self.folder.glob("*.json")))

    # ------------------------------------------------------------------ what is loaded
    @property
    def fit_spaces(self) -> list[str]:
        if self.predictor is not None:
            return list(getattr(self.predictor, "fit_spaces_", None) or [])
        return sorted(self.surrogate.settings.get("space_stats", {}).get("mean", {}))

    def info(self) -> dict[str, Any]:
        """Kind, spaces, training size, quality figures and each space's reference scores (for the page's plot)."""
        if self.predictor is not None:
            from onnxnet.predictors.base import registered_name

            p = self.predictor
            refs = getattr(p, "reference_scores_", {})
            return {"folder": str(self.folder), "kind": registered_name(type(p)), "spaces": self.fit_spaces,
                    "training_size": getattr(p, "training_counts_", None),
                    "quality": getattr(p, "card_", None), "params": p.saved_params(),
                    "reference_scores": {s: [float(x) for x in v] for s, v in refs.items()},
                    "encoding": self.encoding}
        st = self.surrogate.settings
        return {"folder": str(self.folder), "kind": "surrogate", "spaces": self.fit_spaces,
                "training_size": st.get("training", {}).get("n_train"), "quality": st.get("training"),
                "params": {k: st.get(k) for k in ("encoding", "loss", "target_norm", "max_length") if k in st},
                "reference_scores": {}, "encoding": self.encoding}

    def default_space(self, space: str | None, n_files: int) -> str:
        """The space files are scored as: the one asked for, else the only fitted space; several fitted spaces
        and none asked is an error (which space decides whom the network is compared with)."""
        if space:
            return space
        spaces = self.fit_spaces
        if len(spaces) == 1:
            return spaces[0]
        if n_files > 1 or not spaces:
            return UNSEEN
        raise ScoringError(f"this predictor was fitted on {', '.join(spaces)}: pass space=<one of them> to compare "
                           "the network with that space's training networks (or several files, to rank them "
                           "among each other)")

    # ------------------------------------------------------------------ scoring
    def predict(self, files: Sequence[tuple[str, str | os.PathLike[str]]], space: str | None = None,
                with_text: bool = False) -> list[dict[str, Any]]:
        """One result per ``(name, path)``; raises ``ModelLoadError`` naming the first file that does not load."""
        space = self.default_space(space, len(files))
        seen = space in self.fit_spaces
        results: list[dict[str, Any] | None] = [None] * len(files)
        todo: list[tuple[int, str, Any, dict[str, Any], str, float]] = []
        for i, (name, path) in enumerate(files):
            t0 = time.perf_counter()
            digest = file_digest(path)
            key = f"{digest}-{space}" if seen else None
            hit = self.files.get(key) if key else None
            if hit is not None:
                results[i] = self._finish(hit, name, "file", t0, with_text)
                continue
            model, desc = self._describe(name, path)
            ghit = self.graphs.get(f"{desc['graph_hash']}-{space}") if seen else None
            if ghit is not None:
                res = {**desc, "score": ghit["score"], "rank": ghit["rank"], "of": ghit["of"]}
                self.files.put(key, res)  # type: ignore[arg-type]
                results[i] = self._finish(res, name, "graph", t0, with_text)
                continue
            todo.append((i, name, model, desc, key or "", time.perf_counter() - t0))
        if todo:
            t0 = time.perf_counter()
            scores = self._score([t[2] for t in todo], [t[1] for t in todo], space)
            each = (time.perf_counter() - t0) / len(todo)  # one batch: its time shared out
            for (i, name, _, desc, key, loading), sc in zip(todo, scores):
                rank = self._rank(sc, space)
                res = {**desc, "score": sc, "rank": rank[0] if rank else None, "of": rank[1] if rank else None}
                if seen:  # a score of a fitted space does not depend on the other files: reusable
                    self.files.put(key, res)
                    self.graphs.put(f"{desc['graph_hash']}-{space}", {k: res[k] for k in ("score", "rank", "of")})
                results[i] = self._finish(res, name, None, time.perf_counter() - loading - each, with_text)
        return [dict(r, space=space, seen_space=seen) for r in results if r is not None]

    def _describe(self, name: str, path: str | os.PathLike[str]) -> tuple[Any, dict[str, Any]]:
        """Load one file and take what the reply says about its graph (facts, hash, encoding)."""
        from onnxnet.encode import encode
        from onnxnet.graph import graph_facts, graph_hash, load_model

        model = load_model(path, name=name)
        try:
            facts = graph_facts(model)
            text = encode(model, encoding=self.encoding)
        except OnnxNetError:
            raise
        except Exception as e:  # a graph the loader accepted but the facts or the encoding cannot describe
            raise ModelLoadError(f"{name}: cannot describe this graph ({type(e).__name__}: {e})") from None
        desc = {"graph_hash": graph_hash(model), "facts": facts.as_dict(), "encoding": self.encoding,
                "encoding_chars": len(text), "encoding_lines": text.count("\n") + 1, "text": text}
        return model, desc

    def _score(self, models: list[Any], names: list[str], space: str) -> list[float | None]:
        import math

        with self._lock:
            if self.predictor is not None:
                import pandas as pd

                from onnxnet.graph import graph_facts, graph_hash
                from onnxnet.inputs import model_row

                rows = pd.DataFrame([model_row(m, n, space, graph_facts(m), graph_hash(m))
                                     for m, n in zip(models, names)])
                scores = self.predictor.predict(rows)
                failures = {f["id"]: f["reason"] for f in getattr(self.predictor, "failures_", [])}
            else:
                scores = self.surrogate.predict(models)
                failures = {}
        out: list[float | None] = []
        for n, s in zip(names, scores):
            if s is None or not math.isfinite(float(s)):
                raise ModelLoadError(f"{n}: the predictor cannot score this network "
                                     f"({failures.get(n, 'no score')}); it needs a graph the predictor's features "
                                     "support (see the reason)")
            out.append(float(s))
        return out

    def _rank(self, score: float | None, space: str) -> tuple[int, int] | None:
        if score is None or self.predictor is None or not hasattr(self.predictor, "reference_rank"):
            return None
        return self.predictor.reference_rank(score, space)

    @staticmethod
    def _finish(res: dict[str, Any], name: str, cache: str | None, t0: float, with_text: bool) -> dict[str, Any]:
        out = {k: v for k, v in res.items() if with_text or k != "text"}
        return {"file": name, **out, "cache": cache, "seconds": round(time.perf_counter() - t0, 4)}

    # ------------------------------------------------------------------ encoding
    def encode_file(self, name: str, path: str | os.PathLike[str], encoding: str) -> dict[str, Any]:
        """The canonical text of one file in ``encoding`` (a registered encoding name)."""
        from onnxnet.encode import ENCODINGS, encode
        from onnxnet.graph import graph_hash, load_model

        if encoding not in ENCODINGS.names():
            raise ScoringError(f"unknown encoding {encoding!r}; choose one of {', '.join(ENCODINGS.names())}")
        model = load_model(path, name=name)
        text = encode(model, encoding=encoding)
        return {"file": name, "encoding": encoding, "graph_hash": graph_hash(model), "chars": len(text),
                "lines": text.count("\n") + 1, "text": text}

    def stats(self) -> dict[str, int]:
        """Cache counters of this process: hits by file bytes, hits by graph hash, and misses of the latter."""
        return {"file_hits": self.files.hits, "graph_hits": self.graphs.hits, "scored": self.graphs.misses}
