"""Token counts with HF tokenizers and the length policy (fold, shorten, cut the middle, never the tail)."""

from __future__ import annotations

import pytest

from encode_nets import canonical
from onnxnet.encode import count_tokens, cut_middle, encode, fit_to_length, load_tokenizer
from onnxnet.errors import EncodingError


@pytest.fixture(scope="module")
def bpe(tmp_path_factory):
    """A byte-level BPE tokenizer trained in-test on a few encodings (no download)."""
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    texts = [encode(canonical("nb201_small"), e) for e in ("chain", "compact")]
    tok.train_from_iterator(texts, trainers.BpeTrainer(vocab_size=300, show_progress=False,
                                                       initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    path = tmp_path_factory.mktemp("tok") / "tokenizer.json"
    tok.save(str(path))
    return str(path)


def test_count_tokens_with_minilm_path_object_and_json(minilm_path, bpe):
    text = "Conv[k=3x3](x0,<16x3x3x3>) = t0 <1x16x32x32>\n"
    n = count_tokens(text, minilm_path)
    assert n == count_tokens(text, load_tokenizer(minilm_path)) and n > 10
    assert count_tokens(text, bpe) > 0
    assert count_tokens(text + text, bpe) >= 2 * count_tokens(text, bpe) - 1


def test_unknown_tokenizer_gives_a_clear_error(tmp_path):
    with pytest.raises(EncodingError, match="cannot load tokenizer"):
        count_tokens("x", str(tmp_path / "no_such_tokenizer"))


def test_fit_does_nothing_when_text_fits(minilm_path):
    m = canonical("nb201_small")
    text, report = fit_to_length(m, minilm_path, 100_000)
    assert text == encode(m, "compact") and not report.changed and report.fits
    assert report.original_tokens == report.final_tokens == count_tokens(text, minilm_path)


def test_fit_folds_first_then_drops_parts_in_documented_order(minilm_path):
    m = canonical("nb201")
    compact = count_tokens(encode(m, "compact"), minilm_path)
    text, report = fit_to_length(m, minilm_path, compact, encoding="chain")
    assert report.steps[0].startswith("folded repeats") and len(report.steps) == 1 and report.fits
    no_shapes = count_tokens(encode(m, "compact", "ops,inputs,attrs"), minilm_path)
    text, report = fit_to_length(m, minilm_path, no_shapes, encoding="chain")
    assert [s.split(":")[0] for s in report.steps] == ["folded repeats (compact)", "dropped shapes"]
    assert text == encode(m, "compact", "ops,inputs,attrs")


def test_fit_cuts_the_middle_never_the_tail(minilm_path):
    m = canonical("resnet18")
    full = encode(m, "chain", "ops")
    limit = count_tokens(full, minilm_path) // 2
    text, report = fit_to_length(m, minilm_path, limit, encoding="chain", parts="ops")
    assert report.fits and report.lines_omitted > 0 and "cut" in report.steps[-1]
    assert f"... [{report.lines_omitted} lines omitted] ..." in text
    assert text.rstrip("\n").splitlines()[-1] == full.rstrip("\n").splitlines()[-1]  # the classifier line survives
    assert text.splitlines()[0] == full.splitlines()[0]


def test_cut_middle_on_plain_text(bpe):
    text = "".join(f"line {i} Conv --> Relu\n" for i in range(40))
    out, omitted = cut_middle(text, 60, bpe)
    assert count_tokens(out, bpe) <= 60 and omitted > 0
    assert out.splitlines()[-1] == "line 39 Conv --> Relu"


def test_minilm_alias_loads_the_offline_tokenizer():
    from onnxnet.encode.tokens import count_tokens

    assert count_tokens("Conv Relu Add", "minilm") >= 3
