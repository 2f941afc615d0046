"""Masked-language-model pretraining of a from-scratch ModernBERT on unlabelled encodings (``onnxnet pretrain``).

Every architecture of a search space is known before any is trained, so its encodings can teach a text model what
ONNX text looks like without one label (the self-supervised step of arch2vec, CATE and FLAN). The result is a
backbone folder (``config.json``, safetensors weights, the BPE tokenizer learned on the same texts and
``pretrain.json``) that ``onnxnet train --backbone FOLDER`` (or ``surrogate`` with ``backbone=FOLDER``)
fine-tunes. Same ``accelerate`` code path as training (CPU, one GPU, many), length-bucketed batches with dynamic
padding, bf16 where the hardware has it, and a checkpoint every epoch, so a killed run resumes.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from onnxnet.errors import DivergedError, TrainingError
from onnxnet.hparams import hparam
from onnxnet.surrogate.backbone import DEFAULT_BACKBONE

PRETRAIN_FILE = "pretrain.json"


@dataclass
class PretrainConfig:
    """Every pretraining hyperparameter; saved in ``pretrain.json``. ``onnxnet pretrain``'s options are generated
    from these fields (``onnxnet.hparams``)."""

    backbone: str = hparam(DEFAULT_BACKBONE, "A scratch backbone: modernbert-tiny | modernbert-small.")
    backbone_overrides: dict[str, Any] = hparam(help="Backbone config overrides (API only).", factory=dict, cli=False)
    max_length: int = hparam(512, "Context in tokens; longer texts follow the length policy.")
    epochs: int = hparam(1, "Pretraining epochs.")
    batch_size: int = hparam(32, "Encodings per batch.")
    lr: float = hparam(1e-3, "Learning rate.")
    weight_decay: float = hparam(0.01, "AdamW weight decay (not on biases and norms).")
    warmup_ratio: float = hparam(0.05, "Share of the steps spent warming the learning rate up.")
    mlm_probability: float = hparam(0.3, "Share of tokens masked and predicted.")
    vocab_size: int = hparam(2048, "Learned BPE vocabulary.")
    seed: int = hparam(0, "Random seed (tokenizer sample, initialisation, batches, masks).")
    mixed_precision: str = hparam("auto", "auto | bf16 | fp16 | no.")

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def _fingerprint(cfg: PretrainConfig, texts: Sequence[str]) -> str:
    h = hashlib.sha1(json.dumps(cfg.as_dict(), sort_keys=True).encode())
    for t in texts:
        h.update(hashlib.sha1(t.encode()).digest())
    return h.hexdigest()


def _checked(texts: Sequence[str], cfg: PretrainConfig) -> tuple[list[str], Any]:
    """The non-empty texts and the scratch backbone spec; ``TrainingError`` for what cannot be pretrained."""
    from onnxnet.surrogate.backbone import resolve_backbone

    texts = [t for t in texts if t]
    if not texts:
        raise TrainingError("nothing to pretrain on: no non-empty encodings; check --spaces and the store")
    spec = resolve_backbone(cfg.backbone, cfg.backbone_overrides)
    if not spec.scratch:
        raise TrainingError(f"pretraining starts from a scratch backbone (modernbert-tiny / modernbert-small), not "
                            f"{cfg.backbone!r}; a pretrained backbone can be fine-tuned directly with onnxnet train")
    if not 0 < cfg.mlm_probability < 1:
        raise TrainingError(f"mlm_probability must be in (0, 1), got {cfg.mlm_probability}")
    return texts, spec


def _mlm_epoch(accel: Any, model: Any, loader: Any, opt: Any, sched: Any, epoch: int, cfg: PretrainConfig,
               progress: bool) -> tuple[float, int, int]:
    """One pass of masked-token prediction: (summed loss, batches, tokens)."""
    import torch
    from tqdm.auto import tqdm

    model.train()
    bar = tqdm(loader, desc=f"pretrain epoch {epoch + 1}/{cfg.epochs}", leave=False,
               disable=not (progress and accel.is_local_main_process))
    run_loss, n, n_tokens = 0.0, 0, 0
    for b, batch in enumerate(bar):
        loss = model(**batch).loss
        if not torch.isfinite(loss.detach()):
            raise DivergedError(f"masked-LM loss became {float(loss.detach())} at epoch {epoch + 1}, batch {b}; "
                                f"lower the learning rate (now {cfg.lr:g})")
        accel.backward(loss)
        accel.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        opt.zero_grad()
        run_loss, n = run_loss + float(loss.detach()), n + 1
        n_tokens += int(batch["attention_mask"].sum())
        bar.set_postfix(loss=f"{run_loss / n:.4f}")
    bar.close()
    return run_loss, n, n_tokens


def _save_backbone(out: Path, model: Any, tokenizer: Any, info: dict[str, Any]) -> None:
    """Write the encoder without its masked-LM head (what fine-tuning loads with ``AutoModel``), the tokenizer and
    ``pretrain.json`` next to the final files, then move each into place (no half-written folder)."""
    tmp = out / ".partial"
    shutil.rmtree(tmp, ignore_errors=True)
    model.model.save_pretrained(str(tmp), safe_serialization=True)
    tokenizer.save_pretrained(str(tmp))
    (tmp / PRETRAIN_FILE).write_text(json.dumps(info, indent=2))
    for f in tmp.iterdir():
        os.replace(f, out / f.name)
    tmp.rmdir()


def pretrain_backbone(texts: Sequence[str], out_dir: str | os.PathLike[str], config: PretrainConfig | None = None,
                      *, resume: bool = True, progress: bool = True) -> Path:
    """Learn a tokenizer and pretrain a scratch ModernBERT on ``texts`` by masked-token prediction; save to
    ``out_dir`` and return it. Raises ``TrainingError`` on empty input, a non-scratch backbone, a NaN loss or a
    checkpoint from other data or settings."""
    import torch
    from transformers import DataCollatorForLanguageModeling, ModernBertForMaskedLM

    from onnxnet.surrogate.backbone import scratch_config
    from onnxnet.surrogate.data import BucketBatchSampler
    from onnxnet.surrogate.surrogate import tokenize
    from onnxnet.surrogate.trainer import (
        adamw_schedule, make_accelerator, open_checkpoints, resume_from, run_tokenizer, save_epoch)

    cfg = config or PretrainConfig()
    texts, spec = _checked(texts, cfg)
    out = Path(out_dir)
    fp = _fingerprint(cfg, texts)
    ckpt, state = open_checkpoints(out, fp, resume, "pretraining run", "texts")
    accel, mp = make_accelerator(cfg.mixed_precision, cfg.seed)
    tokenizer = run_tokenizer(ckpt, state is not None, texts, cfg.vocab_size, accel.is_main_process)
    torch.manual_seed(cfg.seed)
    model = ModernBertForMaskedLM(scratch_config(spec, tokenizer, cfg.max_length))
    ids, n_over = tokenize(tokenizer, texts, min(cfg.max_length, model.config.max_position_embeddings))
    if n_over and accel.is_main_process:
        print(f"note: {n_over} of {len(ids)} encodings exceed {cfg.max_length} tokens and were shortened by the "
              "length policy")
    lengths = np.asarray([len(x) for x in ids])
    sampler = BucketBatchSampler(lengths, np.zeros(len(ids), dtype=int), cfg.batch_size, shuffle=True, seed=cfg.seed)
    masker = DataCollatorForLanguageModeling(tokenizer, mlm_probability=cfg.mlm_probability)
    loader = torch.utils.data.DataLoader([{"input_ids": x} for x in ids], batch_sampler=sampler, collate_fn=masker)
    opt, sched = adamw_schedule(model, cfg.lr, cfg.weight_decay, len(sampler) * cfg.epochs, cfg.warmup_ratio)
    model, opt, loader, sched = accel.prepare(model, opt, loader, sched)

    start = resume_from(accel, ckpt, state, cfg.epochs, "pretraining ")
    history = list(state.get("history", [])) if state is not None else []
    for epoch in range(start, cfg.epochs):
        sampler.set_epoch(epoch)
        t0 = time.perf_counter()
        run_loss, n, n_tokens = _mlm_epoch(accel, model, loader, opt, sched, epoch, cfg, progress)
        secs = time.perf_counter() - t0
        history.append({"epoch": epoch + 1, "mlm_loss": run_loss / max(1, n), "seconds": round(secs, 2),
                        "tokens_per_s": round(n_tokens / max(secs, 1e-9), 1)})
        if accel.is_main_process:
            print(f"pretrain epoch {epoch + 1}/{cfg.epochs}: masked-LM loss {history[-1]['mlm_loss']:.4f} "
                  f"({secs:.0f} s, {history[-1]['tokens_per_s']:.0f} tokens/s)")
        accel.wait_for_everyone()
        save_epoch(accel, ckpt, epoch, {"fingerprint": fp, "history": history})
    accel.wait_for_everyone()
    if accel.is_main_process:
        _save_backbone(out, accel.unwrap_model(model), tokenizer, {
            "config": cfg.as_dict(), "n_texts": len(texts), "history": history, "mixed_precision": mp,
            "mean_tokens": float(lengths.mean())})
    accel.wait_for_everyone()
    return out
