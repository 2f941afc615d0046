"""CLI commands: ``onnxnet encode`` (print the text of a model) and ``onnxnet inspect`` (facts and lengths)."""

from __future__ import annotations

import sys
from typing import Optional

import typer

from onnxnet.cli.app import app

_ENCODINGS = ("chain", "compact")


def _load(model: str, no_simplify: bool, simplifier: str):
    from onnxnet.graph import load_model

    return load_model(model, simplifier=None if no_simplify else simplifier)  # type: ignore[arg-type]


@app.command()
def encode(
    model: str = typer.Argument(..., help="Path to an .onnx file."),
    encoding: str = typer.Option("compact", "--encoding", "-e", help="Text encoding: chain or compact."),
    parts: str = typer.Option("all", "--parts", "-p",
                              help="What to show (ablation): all, or a comma list of ops,inputs,attrs,shapes."),
    no_simplify: bool = typer.Option(False, "--no-simplify", help="Skip onnxsim/onnxslim (canonicalisation still runs)."),
    simplifier: str = typer.Option("onnxsim", "--simplifier", help="onnxsim (fast) or onnxslim."),
    tokenizer: Optional[str] = typer.Option(None, "--tokenizer", "-t",
                                            help="HF tokenizer name or path: report the token count on stderr."),
    max_tokens: Optional[int] = typer.Option(None, "--max-tokens",
                                             help="Fit the text to this many tokens (needs --tokenizer): fold, "
                                                  "shorten, then cut the middle; the report goes to stderr."),
) -> None:
    """Print the canonical, lossless text of MODEL."""
    from onnxnet.encode import count_tokens, fit_to_length
    from onnxnet.encode import encode as do_encode
    from onnxnet.errors import EncodingError

    if encoding not in _ENCODINGS:
        raise EncodingError(f"--encoding {encoding!r}: choose one of {', '.join(_ENCODINGS)}")
    m = _load(model, no_simplify, simplifier)
    if max_tokens is not None:
        if not tokenizer:
            raise EncodingError("--max-tokens needs --tokenizer (the limit is counted in that tokenizer's tokens)")
        text, report = fit_to_length(m, tokenizer, max_tokens, encoding=encoding, parts=parts)
        sys.stdout.write(text)
        print(f"length: {report}", file=sys.stderr)
        return
    text = do_encode(m, encoding, parts)
    sys.stdout.write(text)
    if tokenizer:
        print(f"tokens: {count_tokens(text, tokenizer)} ({tokenizer}); chars: {len(text)}", file=sys.stderr)


@app.command()
def inspect(
    model: str = typer.Argument(..., help="Path to an .onnx file."),
    tokenizer: Optional[str] = typer.Option(None, "--tokenizer", "-t", help="HF tokenizer name or path for token counts."),
    no_simplify: bool = typer.Option(False, "--no-simplify", help="Skip onnxsim/onnxslim."),
    simplifier: str = typer.Option("onnxsim", "--simplifier", help="onnxsim (fast) or onnxslim."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object instead of a table."),
) -> None:
    """Print static facts (params, FLOPs, depth, width, ops) and the text length of each encoding."""
    import json

    from onnxnet.encode import count_tokens
    from onnxnet.encode import encode as do_encode
    from onnxnet.graph import graph_facts, graph_hash, read_model

    raw_nodes = len(read_model(model).graph.node)
    m = _load(model, no_simplify, simplifier)
    facts = graph_facts(m)
    info: dict = {"model": model, "graph_hash": graph_hash(m), "nodes_in_file": raw_nodes}
    info.update(facts.as_dict())
    lengths = {}
    for enc in _ENCODINGS:
        text = do_encode(m, enc)
        lengths[enc] = {"chars": len(text), "lines": text.count("\n")}
        if tokenizer:
            lengths[enc]["tokens"] = count_tokens(text, tokenizer)
    info["lengths"] = lengths
    if as_json:
        print(json.dumps(info, indent=1))
        return
    for k in ("model", "graph_hash", "nodes_in_file", "n_nodes", "n_params", "macs", "flops", "depth", "width"):
        v = info[k]
        print(f"{k:14s} {v:,}" if isinstance(v, int) else f"{k:14s} {v}")
    print("ops            " + ", ".join(f"{op} {n}" for op, n in facts.op_histogram.items()))
    for enc, ln in lengths.items():
        tok = f", {ln['tokens']:,} tokens" if "tokens" in ln else ""
        print(f"{enc:14s} {ln['chars']:,} chars, {ln['lines']:,} lines{tok}")
