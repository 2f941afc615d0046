"""Train a surrogate with ``accelerate``: one code path for CPU, one GPU, or many GPUs and nodes.

Per-space normalised targets, single-space length-bucketed batches with dynamic padding, bf16 where the
hardware has it, optional gradient checkpointing, a checkpoint every epoch (a killed run resumes where it
stopped), and model selection on a validation split of the *training* spaces only.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from onnxnet.atomic import write_json
from onnxnet.errors import DivergedError, TrainingError
from onnxnet.ranking import group_correlation
from onnxnet.surrogate.lr_search import train_lr_grid
from onnxnet.surrogate.targets import normalize_per_space

CKPT_DIR = "checkpoints"
STATE_FILE = "trainer_state.json"
BEST_DIR = "best"


@dataclass
class TrainConfig:
    """Every training hyperparameter; saved with the surrogate and in its model card."""

    backbone: str = "modernbert-tiny"
    backbone_overrides: dict[str, Any] = field(default_factory=dict)
    loss: str = "hinge"
    loss_params: dict[str, Any] = field(default_factory=dict)
    target_norm: str = "rank"
    encoding: str = "compact"
    max_length: int = 512
    epochs: int = 10
    batch_size: int = 16
    grad_accum: int = 1
    lr: float | None = None  # None: 1e-3 from scratch, 5e-5 for a pretrained backbone
    lr_grid: tuple[float, ...] = ()  # several: one run each, the best validation Kendall is kept (lr_search.py)
    weight_decay: float = 0.01
    warmup_ratio: float = 0.1
    dropout: float = 0.1
    vocab_size: int = 2048
    val_fraction: float = 0.1
    patience: int = 3
    seed: int = 0
    mixed_precision: str = "auto"  # auto | bf16 | fp16 | no
    gradient_checkpointing: bool = False
    keep_checkpoints: int = 1

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass
class TrainData:
    """Texts with raw accuracies and the search space of each."""

    texts: list[str]
    y: np.ndarray
    spaces: np.ndarray

    @classmethod
    def make(cls, texts: Sequence[str], y: Sequence[float], spaces: Sequence[str]) -> "TrainData":
        t, ya, sa = list(texts), np.asarray(y, dtype=float), np.asarray([str(s) for s in spaces], dtype=object)
        if not (len(t) == len(ya) == len(sa)):
            raise TrainingError(f"{len(t)} texts, {len(ya)} targets and {len(sa)} space names: they must match")
        return cls(t, ya, sa)


def auto_mixed_precision() -> str:
    """``bf16`` on GPUs and CPUs with native bf16 (AVX512-BF16 / AMX), else ``no``."""
    import torch

    if torch.cuda.is_available():
        return "bf16" if torch.cuda.is_bf16_supported() else "no"
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return "no"
    return "bf16" if ("avx512_bf16" in flags or "amx_bf16" in flags) else "no"


def _fresh_accelerator_state() -> None:
    """Let a second training run in the same process choose its own precision.

    accelerate keeps one process-wide ``AcceleratorState`` and refuses a new ``Accelerator`` whose settings differ
    (e.g. a bf16 run after an fp32 one in one notebook). The per-run part is cleared; the distributed set-up
    (``PartialState``: process group, device) is kept, so multi-GPU launches are unaffected.
    """
    from accelerate.state import AcceleratorState, GradientState

    AcceleratorState._reset_state(reset_partial_state=False)
    GradientState._reset_state()


def check_train_data(data: TrainData, what: str = "training") -> None:
    """Raise ``TrainingError`` for empty sets, NaN labels, or spaces too small to normalise and rank."""
    if len(data.texts) == 0:
        raise TrainingError(f"the {what} set is empty; check --spaces and that the store has labelled networks")
    bad = np.flatnonzero(~np.isfinite(data.y))
    if len(bad):
        raise TrainingError(
            f"{len(bad)} of {len(data.y)} {what} labels are NaN or infinite (first at row {int(bad[0])}, "
            f"space {data.spaces[bad[0]]!r}); drop unlabelled networks before training"
        )
    for s in np.unique(data.spaces):
        m = data.spaces == s
        if m.sum() < 2:
            raise TrainingError(
                f"space {s!r} has only {int(m.sum())} {what} network; per-space normalisation and ranking need "
                "at least 2 per space: add networks or leave the space out"
            )
        if np.ptp(data.y[m]) == 0:
            raise TrainingError(f"all {int(m.sum())} {what} networks of space {s!r} have the same label; nothing to rank")


def adamw_schedule(model: Any, lr: float, weight_decay: float, total_steps: int, warmup_ratio: float) -> tuple[Any, Any]:
    """AdamW without weight decay on biases and norms, and a linear warm-up then linear decay to zero."""
    import torch

    decay = [p for p in model.parameters() if p.ndim >= 2]
    no_decay = [p for p in model.parameters() if p.ndim < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": weight_decay},
                             {"params": no_decay, "weight_decay": 0.0}], lr=lr)
    total = max(1, int(total_steps))
    warm = int(warmup_ratio * total)

    def factor(step: int) -> float:
        if step < warm:
            return (step + 1) / max(1, warm)
        return max(0.0, (total - step) / max(1, total - warm))

    return opt, torch.optim.lr_scheduler.LambdaLR(opt, factor)


def run_tokenizer(ckpt: Path, resumed: bool, texts: Sequence[str], vocab_size: int, main_process: bool) -> Any:
    """A run's learned BPE: reloaded from ``ckpt/tokenizer`` when resuming (a corrupted one is a clear error), else
    learned on ``texts`` and saved there first, so a resumed run reuses it."""
    from transformers import AutoTokenizer

    from onnxnet.surrogate.tokenizer import train_bpe_tokenizer

    tok_dir = ckpt / "tokenizer"
    if resumed and tok_dir.is_dir():
        try:
            return AutoTokenizer.from_pretrained(str(tok_dir))
        except Exception as e:
            raise TrainingError(f"saved tokenizer {tok_dir} is corrupted ({e}); delete {ckpt} or pass --no-resume") from None
    tokenizer = train_bpe_tokenizer(texts, vocab_size=vocab_size)
    if main_process:
        tokenizer.save_pretrained(str(tok_dir))
    return tokenizer


def load_checkpoint(accel: Any, last: Path, ckpt: Path) -> None:
    """``accel.load_state(last)``, any failure a ``TrainingError`` that says how to start over."""
    try:
        accel.load_state(str(last))
    except Exception as e:
        raise TrainingError(
            f"could not resume from {last} ({type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}); "
            f"the checkpoint is corrupted: delete {ckpt}, or pass --no-resume"
        ) from None


def split_validation(data: TrainData, fraction: float, seed: int) -> tuple[TrainData, TrainData | None]:
    """A seeded per-space split of the training data (>= 2 networks per space on each side, else no split)."""
    if fraction <= 0:
        return data, None
    rng = np.random.default_rng(seed)
    val_idx: list[int] = []
    for s in np.unique(data.spaces):
        idx = rng.permutation(np.flatnonzero(data.spaces == s))
        k = int(round(fraction * len(idx)))
        if k >= 2 and len(idx) - k >= 2:
            val_idx += idx[:k].tolist()
    if not val_idx:
        return data, None
    vm = np.zeros(len(data.texts), dtype=bool)
    vm[val_idx] = True
    pick = lambda m: TrainData([t for t, k in zip(data.texts, m) if k], data.y[m], data.spaces[m])  # noqa: E731
    return pick(~vm), pick(vm)


def _fingerprint(cfg: TrainConfig, data: TrainData, val: TrainData | None) -> str:
    settings = {k: v for k, v in cfg.as_dict().items() if not (k == "lr_grid" and not v)}  # older runs resume
    h = hashlib.sha1(json.dumps(settings, sort_keys=True, default=str).encode())
    for d in (data, val):
        if d is None:
            continue
        for t in d.texts:
            h.update(hashlib.sha1(t.encode()).digest())
        h.update(np.asarray(d.y, dtype=np.float64).tobytes())
        h.update("\x00".join(d.spaces.tolist()).encode())
    return h.hexdigest()


def _read_state(ckpt: Path) -> dict[str, Any] | None:
    """The saved trainer state, ``None`` for a fresh folder, ``TrainingError`` for a corrupted one."""
    if not ckpt.exists():
        return None
    sfile = ckpt / STATE_FILE
    if not sfile.is_file():
        if any(ckpt.iterdir()):
            raise TrainingError(
                f"checkpoint folder {ckpt} has no {STATE_FILE}: it is corrupted or from another tool; "
                "delete it, or pass --no-resume to start over"
            )
        return None
    try:
        state = json.loads(sfile.read_text(encoding="utf-8"))
        int(state["epoch"]), str(state["fingerprint"])
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise TrainingError(
            f"checkpoint state {sfile} is corrupted ({type(e).__name__}: {e}); delete {ckpt}, or pass --no-resume"
        ) from None
    return state


def train_surrogate(
    texts: Sequence[str],
    y: Sequence[float],
    spaces: Sequence[str],
    out_dir: str | os.PathLike[str],
    config: TrainConfig | None = None,
    *,
    val: tuple[Sequence[str], Sequence[float], Sequence[str]] | None = None,
    resume: bool = True,
    progress: bool = True,
    data_info: dict[str, Any] | None = None,
):
    """Train a surrogate on encoded networks and save it to ``out_dir``; returns the ``Surrogate``.

    ``val`` is a validation set from the *training* spaces (e.g. the store's ``val`` split); when absent,
    ``config.val_fraction`` of the training data per space is held out. The best epoch by mean per-space
    Kendall tau on it is kept; training stops after ``config.patience`` epochs without improvement.
    With ``resume`` (default) a run killed mid-way continues from its last completed epoch. With
    ``config.lr_grid`` one run per learning rate is trained on the same split and the best on validation is kept.
    """
    import torch
    from accelerate import Accelerator
    from accelerate.utils import set_seed
    from tqdm.auto import tqdm

    from onnxnet import __version__
    from onnxnet.surrogate.backbone import load_pretrained, resolve_backbone, scratch_config
    from onnxnet.surrogate.data import BucketBatchSampler, Collator, EncodedDataset
    from onnxnet.surrogate.inputs import encoding_version
    from onnxnet.surrogate.losses import get_loss
    from onnxnet.surrogate.model import SurrogateModel
    from onnxnet.surrogate.surrogate import Surrogate, tokenize

    cfg = config or TrainConfig()
    if cfg.lr_grid:
        return train_lr_grid(texts, y, spaces, out_dir, cfg, train=train_surrogate, val=val, resume=resume,
                             progress=progress, data_info=data_info)
    out = Path(out_dir)
    data = TrainData.make(texts, y, spaces)
    check_train_data(data)
    if val is not None:
        vdata: TrainData | None = TrainData.make(*val)
        check_train_data(vdata, "validation")
        extra = sorted(set(vdata.spaces) - set(data.spaces))
        if extra:
            raise TrainingError(
                f"validation networks from {', '.join(extra)} are not in the training spaces; model selection must "
                "use held-out networks of the training spaces only (never the test space)"
            )
    else:
        data, vdata = split_validation(data, cfg.val_fraction, cfg.seed)
    loss_fn = get_loss(cfg.loss, **cfg.loss_params)
    targets, stats = normalize_per_space(data.y, data.spaces, cfg.target_norm)
    space_ids = {s: i for i, s in enumerate(sorted(set(data.spaces)))}
    try:
        enc_version = encoding_version(cfg.encoding)
    except Exception:  # texts were given directly; the encoder may not be importable or the name unknown
        enc_version = "?"

    out.mkdir(parents=True, exist_ok=True)
    ckpt = out / CKPT_DIR
    if not resume and ckpt.exists():
        shutil.rmtree(ckpt)
    state = _read_state(ckpt)
    fp = _fingerprint(cfg, data, vdata)
    if state is not None and state["fingerprint"] != fp:
        raise TrainingError(
            f"{ckpt} holds a run with other data or settings; pass --no-resume to overwrite it, or a new --out"
        )
    ckpt.mkdir(parents=True, exist_ok=True)

    mp = auto_mixed_precision() if cfg.mixed_precision == "auto" else cfg.mixed_precision
    _fresh_accelerator_state()
    accel = Accelerator(mixed_precision=mp, gradient_accumulation_steps=cfg.grad_accum,
                        cpu=not torch.cuda.is_available())
    set_seed(cfg.seed)

    # Backbone and tokenizer (a learned tokenizer is saved before training so a resumed run reuses it).
    spec = resolve_backbone(cfg.backbone, cfg.backbone_overrides)
    if spec.scratch:
        from transformers import ModernBertModel

        tokenizer = run_tokenizer(ckpt, state is not None, data.texts, cfg.vocab_size, accel.is_main_process)
        torch.manual_seed(cfg.seed)
        backbone = ModernBertModel(scratch_config(spec, tokenizer, cfg.max_length))
    else:
        backbone, tokenizer = load_pretrained(spec)
    if cfg.gradient_checkpointing:
        backbone.gradient_checkpointing_enable()
    model = SurrogateModel(backbone, dropout=cfg.dropout)
    ctx = int(getattr(backbone.config, "max_position_embeddings", cfg.max_length))
    max_len = min(cfg.max_length, ctx)

    train_ids, n_over = tokenize(tokenizer, data.texts, max_len)
    if n_over and accel.is_main_process:
        print(f"note: {n_over} of {len(train_ids)} training encodings exceed {max_len} tokens and were shortened "
              "by the length policy")
    ds = EncodedDataset(train_ids, targets, [space_ids[s] for s in data.spaces])
    sampler = BucketBatchSampler(ds.lengths, ds.groups, cfg.batch_size, shuffle=True, seed=cfg.seed)
    loader = torch.utils.data.DataLoader(ds, batch_sampler=sampler, collate_fn=Collator(tokenizer.pad_token_id))

    lr = cfg.lr if cfg.lr is not None else (1e-3 if spec.scratch else 5e-5)
    steps_per_epoch = max(1, math.ceil(len(sampler) / cfg.grad_accum))
    opt, sched = adamw_schedule(model, lr, cfg.weight_decay, steps_per_epoch * cfg.epochs, cfg.warmup_ratio)
    model, opt, loader, sched = accel.prepare(model, opt, loader, sched)

    start_epoch, best, best_epoch, bad_epochs, history = 0, -math.inf, None, 0, []
    if state is not None:
        last = ckpt / f"epoch-{int(state['epoch'])}"
        load_checkpoint(accel, last, ckpt)
        start_epoch = int(state["epoch"]) + 1
        best = float(state.get("best", -math.inf)) if state.get("best") is not None else -math.inf
        best_epoch, bad_epochs = state.get("best_epoch"), int(state.get("bad_epochs", 0))
        history = list(state.get("history", []))
        if accel.is_main_process:
            print(f"resuming from {last} (epoch {start_epoch + 1} of {cfg.epochs})")

    settings: dict[str, Any] = {
        "onnxnet_version": __version__,
        "backbone": cfg.backbone,
        "scratch": spec.scratch,
        "encoding": {"name": cfg.encoding, "version": enc_version},
        "max_length": max_len,
        "loss": cfg.loss,
        "target_norm": cfg.target_norm,
        "dropout": cfg.dropout,
        "space_stats": stats.as_dict(),
    }

    def make_surrogate() -> Surrogate:
        return Surrogate(accel.unwrap_model(model), tokenizer, settings)

    def evaluate() -> dict[str, dict[str, float]]:
        assert vdata is not None
        pred = make_surrogate().predict_texts(vdata.texts, batch_size=cfg.batch_size * 2)
        return group_correlation(pred, vdata.y, vdata.spaces)

    stop = state is not None and state.get("stopped", False)
    global_step = start_epoch * steps_per_epoch
    for epoch in range(start_epoch, cfg.epochs):
        if stop:
            break
        sampler.set_epoch(epoch)
        model.train()
        bar = tqdm(loader, desc=f"epoch {epoch + 1}/{cfg.epochs}", disable=not (progress and accel.is_local_main_process),
                   leave=False)
        run_loss, n_batches, n_tokens, t_epoch = 0.0, 0, 0, time.perf_counter()
        for b, batch in enumerate(bar):
            with accel.accumulate(model):
                scores = model(batch["input_ids"], batch["attention_mask"])
                loss = loss_fn(scores, batch["target"], batch["group"])
                if not torch.isfinite(loss.detach()):
                    raise DivergedError(
                        f"loss became {float(loss.detach())} at epoch {epoch + 1}, step {global_step}, batch {b} "
                        f"(space {sorted(space_ids)[int(batch['group'][0])]!r}, {len(batch['target'])} networks); "
                        f"lower the learning rate (now {lr:g}) or check the targets; the last good checkpoint is in {ckpt}"
                    )
                accel.backward(loss)
                if accel.sync_gradients:
                    accel.clip_grad_norm_(model.parameters(), 1.0)
                    global_step += 1
                opt.step()
                sched.step()
                opt.zero_grad()
            run_loss += float(loss.detach())
            n_batches += 1
            n_tokens += int(batch["attention_mask"].sum())
            bar.set_postfix(loss=f"{run_loss / n_batches:.4f}")
        bar.close()
        secs = time.perf_counter() - t_epoch
        rec: dict[str, Any] = {"epoch": epoch + 1, "train_loss": run_loss / max(1, n_batches), "tokens": n_tokens,
                               "seconds": round(secs, 2), "tokens_per_s": round(n_tokens / max(secs, 1e-9), 1)}
        improved = True
        if vdata is not None:
            m = evaluate()
            rec["val"] = m
            score = m["mean"]["kendall"]
            improved = score > best
            if improved:
                best, best_epoch, bad_epochs = score, epoch + 1, 0
            else:
                bad_epochs += 1
        else:
            best_epoch = epoch + 1
        history.append(rec)
        if accel.is_main_process:
            vtxt = f", val Kendall {rec['val']['mean']['kendall']:.4f}" if "val" in rec else ""
            print(f"epoch {epoch + 1}/{cfg.epochs}: train loss {rec['train_loss']:.4f}{vtxt} "
                  f"({secs:.0f} s, {rec['tokens_per_s']:.0f} tokens/s)"
                  + (" (best)" if improved and vdata is not None else ""))
        accel.wait_for_everyone()
        if improved and accel.is_main_process:
            make_surrogate().save_pretrained(ckpt / BEST_DIR)
        stop = vdata is not None and bad_epochs >= cfg.patience
        accel.save_state(str(ckpt / f"epoch-{epoch}"))
        if accel.is_main_process:
            write_json(ckpt / STATE_FILE, {
                "epoch": epoch, "fingerprint": fp, "best": None if best == -math.inf else best,
                "best_epoch": best_epoch, "bad_epochs": bad_epochs, "history": history, "stopped": stop,
            })
            for old in sorted(ckpt.glob("epoch-*"), key=lambda p: int(p.name.split("-")[1]))[:-cfg.keep_checkpoints]:
                shutil.rmtree(old, ignore_errors=True)
        if stop and accel.is_main_process:
            print(f"early stopping: no validation improvement for {cfg.patience} epochs")
    accel.wait_for_everyone()

    final = Surrogate.from_pretrained(ckpt / BEST_DIR) if (ckpt / BEST_DIR / "surrogate.json").is_file() \
        else make_surrogate()
    final_val = next((h.get("val") for h in history if h["epoch"] == best_epoch), None)
    final.settings.update(settings)
    final.settings["training"] = {
        "config": cfg.as_dict(),
        "train_counts": {s: int((data.spaces == s).sum()) for s in sorted(space_ids)},
        "val_counts": {s: int((vdata.spaces == s).sum()) for s in sorted(space_ids)} if vdata is not None else {},
        "epochs_run": len(history),
        "best_epoch": best_epoch if vdata is not None else None,
        "val_metrics": final_val,
        "history": history,
        "mixed_precision": mp,
        "num_processes": accel.num_processes,
        **(data_info or {}),
    }
    if accel.is_main_process:
        final.save_pretrained(out)
    accel.wait_for_everyone()
    return final
