"""``Surrogate``: a trained text-to-accuracy model in one shareable folder, and its batched inference."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator, Sequence

import numpy as np

from onnxnet.errors import SurrogateError
from onnxnet.surrogate.card import model_card
from onnxnet.surrogate.inputs import EncodingCache, as_items, encode_items

#: Bumped when the folder layout changes; ``from_pretrained`` refuses newer folders.
FORMAT_VERSION = 1
SETTINGS_FILE = "surrogate.json"


@contextmanager
def quiet_transformers() -> Iterator[None]:
    """Hide transformers' per-file progress bars ("Loading weights", "Writing model shards") while we load/save."""
    from transformers.utils import logging as hf_logging

    was = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if was:
            hf_logging.enable_progress_bar()


def tokenize(tokenizer: Any, texts: Sequence[str], max_length: int) -> tuple[list[list[int]], int]:
    """Token ids per text, fitted to ``max_length`` by the encoder's length policy; returns (ids, n_over_length).

    Texts over the context are shortened by ``onnxnet.encode.fit_to_length`` when the encoder provides it
    (it folds and elides the middle, keeping the input stem and the classifier); otherwise the middle tokens are
    dropped, never the tail that holds the classifier.
    """
    enc = tokenizer(list(texts), add_special_tokens=True, truncation=False)["input_ids"]
    over = [i for i, ids in enumerate(enc) if len(ids) > max_length]
    if over:
        try:
            from onnxnet.encode.tokens import fit_to_length
        except ImportError:
            fit_to_length = None
        n_special = int(tokenizer.num_special_tokens_to_add()) if hasattr(tokenizer, "num_special_tokens_to_add") else 2
        for i in over:
            ids = None
            if fit_to_length is not None:
                try:  # whole lines from the head and the tail, "... [N lines omitted] ..." in between
                    text, _report = fit_to_length(texts[i], tokenizer, max_length - n_special)
                    ids = tokenizer(text, add_special_tokens=True, truncation=False)["input_ids"]
                except Exception:  # e.g. a one-line text: fall back to the token-level middle cut below
                    ids = None
            if ids is None or len(ids) > max_length:
                seq = enc[i] if ids is None else ids
                head = (max_length - 1) // 2
                ids = seq[:head] + seq[len(seq) - (max_length - head):]
            enc[i] = ids
    return [list(x) for x in enc], len(over)


class Surrogate:
    """A backbone + head + tokenizer + encoding settings; ``predict`` scores networks (higher = better).

    Build one with ``onnxnet.surrogate.train_surrogate`` (or ``onnxnet train``) and load it with
    ``Surrogate.from_pretrained(folder)``.
    """

    def __init__(self, model: Any, tokenizer: Any, settings: dict[str, Any]) -> None:
        self.model = model
        self.tokenizer = tokenizer
        self.settings = dict(settings)
        self.cache = EncodingCache()
        #: Networks whose text exceeded the context in the last ``predict`` call.
        self.last_over_length_ = 0

    # ---------------------------------------------------------------- settings
    @property
    def encoding(self) -> str:
        return str(self.settings.get("encoding", {}).get("name", "compact"))

    @property
    def max_length(self) -> int:
        return int(self.settings.get("max_length", 512))

    @property
    def regresses_accuracy(self) -> bool:
        """True when trained with MSE on z-scored targets, so scores map back to accuracies per space."""
        return self.settings.get("loss") == "mse" and self.settings.get("target_norm") == "zscore"

    # ---------------------------------------------------------------- inference
    def encode(self, models: Any, *, input_shape: Sequence[int] | None = None, simplify: bool = True) -> list[str]:
        """The texts the model reads for ``models`` (cached)."""
        return encode_items(as_items(models), self.encoding, input_shape=input_shape, cache=self.cache,
                            simplify=simplify)

    def _forward(self, texts: Sequence[str], batch_size: int, what: str) -> np.ndarray:
        import torch

        ids, self.last_over_length_ = tokenize(self.tokenizer, texts, self.max_length)
        if not ids:
            return np.zeros((0,) if what == "score" else (0, self.model.head.in_features), dtype=np.float64)
        from onnxnet.surrogate.data import pad_batch

        order = np.argsort([len(x) for x in ids], kind="stable")
        device = next(self.model.parameters()).device
        out: list[np.ndarray] = [np.empty(0)] * len(ids)
        was_training = self.model.training
        self.model.eval()
        try:
            with torch.no_grad():
                for b in range(0, len(order), batch_size):
                    sel = order[b:b + batch_size]
                    x, m = pad_batch([ids[i] for i in sel], self.tokenizer.pad_token_id)
                    x, m = x.to(device), m.to(device)
                    y = self.model(x, m) if what == "score" else self.model.embed(x, m)
                    y = y.float().cpu().numpy().astype(np.float64)
                    for k, i in enumerate(sel):
                        out[i] = y[k]
        finally:
            self.model.train(was_training)
        return np.stack(out) if what == "embed" else np.asarray(out, dtype=np.float64)

    def predict_texts(self, texts: Sequence[str], batch_size: int = 32) -> np.ndarray:
        """Scores for already-encoded texts."""
        return self._forward(list(texts), batch_size, "score")

    def embed_texts(self, texts: Sequence[str], batch_size: int = 32) -> np.ndarray:
        """Mean-pooled text representations (for hybrid predictors)."""
        return self._forward(list(texts), batch_size, "embed")

    def predict(self, models: Any, *, input_shape: Sequence[int] | None = None, batch_size: int = 32,
                simplify: bool = True) -> np.ndarray:
        """One score per network; higher = more accurate.

        ``models``: a path, bytes, ``onnx.ModelProto``, torch module (with ``input_shape``), a list of those,
        or benchmark-store rows (a DataFrame with an ``onnx`` column).
        """
        return self.predict_texts(self.encode(models, input_shape=input_shape, simplify=simplify), batch_size)

    def predict_accuracy(self, models: Any, space: str, **kwargs: Any) -> np.ndarray:
        """Accuracies (percent) in ``space`` for a surrogate trained to regress them (MSE on z-scored targets)."""
        if not self.regresses_accuracy:
            raise SurrogateError(
                f"this surrogate was trained with loss {self.settings.get('loss')!r} on "
                f"{self.settings.get('target_norm')!r} targets, so its scores are ranks, not accuracies; "
                "train with --loss mse --target-norm zscore to regress accuracies"
            )
        st = self.settings.get("space_stats", {})
        if space not in st.get("mean", {}):
            raise SurrogateError(
                f"space {space!r} was not in this surrogate's training data ({', '.join(st.get('mean', {}))}); "
                "accuracies can only be given on the scale of a training space; use predict() for scores"
            )
        s = self.predict(models, **kwargs)
        return s * float(st["std"][space]) + float(st["mean"][space])

    # ---------------------------------------------------------------- save / load
    def save_pretrained(self, path: str | os.PathLike[str]) -> Path:
        """Write the folder: ``backbone/`` (config + safetensors), ``head.safetensors``, ``tokenizer/``,
        ``surrogate.json`` (encoding and training settings, written last) and ``README.md`` (model card)."""
        from safetensors.torch import save_file

        dest = Path(path)
        dest.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".save-", dir=dest))
        try:
            backbone = getattr(self.model, "module", self.model).backbone
            with quiet_transformers():
                backbone.save_pretrained(tmp / "backbone", safe_serialization=True)
            head = {f"head.{k}": v.detach().cpu().contiguous() for k, v in self.model.head.state_dict().items()}
            save_file(head, str(tmp / "head.safetensors"))
            self.tokenizer.save_pretrained(str(tmp / "tokenizer"))
            (tmp / "README.md").write_text(model_card(self.settings), encoding="utf-8")
            settings = dict(self.settings, format_version=FORMAT_VERSION)
            (tmp / SETTINGS_FILE).write_text(json.dumps(settings, indent=2, default=_json_default), encoding="utf-8")
            if (dest / SETTINGS_FILE).exists():
                (dest / SETTINGS_FILE).unlink()  # the folder is incomplete until the new settings land
            for name in ("backbone", "head.safetensors", "tokenizer", "README.md", SETTINGS_FILE):
                target = dest / name
                if target.is_dir():
                    shutil.rmtree(target)
                os.replace(tmp / name, target)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        return dest

    @classmethod
    def from_pretrained(cls, path: str | os.PathLike[str], device: str | None = "auto") -> "Surrogate":
        """Load a folder written by ``save_pretrained`` (or by ``onnxnet train --out``) onto ``device``
        (``resolve_device``: ``"auto"`` is the GPU when there is one, else the CPU)."""
        import torch
        from safetensors.torch import load_file
        from transformers import AutoModel, AutoTokenizer

        from onnxnet.surrogate.model import SurrogateModel

        src = Path(path)
        sfile = src / SETTINGS_FILE
        if not sfile.is_file():
            raise SurrogateError(
                f"{src} is not a trained surrogate folder (no {SETTINGS_FILE}); pass the folder that "
                "'onnxnet train --out' wrote, or train one with 'onnxnet train'"
            )
        try:
            settings = json.loads(sfile.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as e:
            raise SurrogateError(f"{sfile} is unreadable ({e}); the folder is corrupted: retrain or re-copy it") from None
        if int(settings.get("format_version", 0)) > FORMAT_VERSION:
            raise SurrogateError(
                f"{src} was written by a newer onnxnet (format {settings.get('format_version')}); upgrade onnxnet"
            )
        try:
            with quiet_transformers():
                tok = AutoTokenizer.from_pretrained(str(src / "tokenizer"))
                backbone = AutoModel.from_pretrained(str(src / "backbone"))
            model = SurrogateModel(backbone, dropout=float(settings.get("dropout", 0.1)))
            head = load_file(str(src / "head.safetensors"))
            model.head.load_state_dict({k.removeprefix("head."): v for k, v in head.items()})
        except Exception as e:
            raise SurrogateError(
                f"could not load the surrogate in {src}: {type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}; "
                "the folder is incomplete or corrupted: retrain or re-copy it"
            ) from None
        model.eval()
        model.to(torch.device(resolve_device(device)))
        return cls(model, tok, settings)


def resolve_device(device: str | None = "auto") -> str:
    """The torch device to run on: ``"auto"`` (or ``None``) is ``"cuda"`` when CUDA is available, else ``"cpu"``;
    anything else (``"cpu"``, ``"cuda:1"``, ``"mps"``) is used as given, and CUDA asked for without one is a
    ``SurrogateError``."""
    import torch

    if device in (None, "auto"):
        return "cuda" if torch.cuda.is_available() else "cpu"
    if str(device).startswith("cuda") and not torch.cuda.is_available():
        raise SurrogateError(f"device {device!r} asked for, but torch sees no CUDA GPU here; use device='cpu' or "
                             "'auto'")
    return str(device)


def _json_default(o: Any) -> Any:
    if isinstance(o, (np.integer,)):
        return int(o)
    if isinstance(o, (np.floating,)):
        return float(o)
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, Path):
        return str(o)
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")
