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
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from onnxnet.atomic import write_json
from onnxnet.errors import DivergedError, TrainingError
from onnxnet.hparams import hparam
from onnxnet.ranking import group_correlation
from onnxnet.surrogate.backbone import DEFAULT_BACKBONE
from onnxnet.surrogate.lr_search import train_lr_grid
from onnxnet.surrogate.targets import normalize_per_space

CKPT_DIR = "checkpoints"
STATE_FILE = "trainer_state.json"
BEST_DIR = "best"


@dataclass
class TrainConfig:
    """Every training hyperparameter; saved with the surrogate and in its model card.

    The single declaration: ``onnxnet train``'s options and the ``surrogate`` predictor's parameters are generated
    from these fields (``onnxnet.hparams``)."""

    backbone: str = hparam(DEFAULT_BACKBONE, "modernbert-tiny | modernbert-small | minilm | a local folder | a hub id.")
    backbone_overrides: dict[str, Any] = hparam(help="Backbone config overrides (API only).", factory=dict, cli=False)
    loss: str = hparam("hinge", "Loss: hinge | mse | listnet | listmle.")
    loss_params: dict[str, Any] = hparam(help="Loss parameters (API only).", factory=dict, cli=False)
    target_norm: str = hparam("rank", "Per-space target normalisation: rank | zscore.")
    encoding: str = hparam("compact", "Text encoding of the graphs: compact | chain.")
    max_length: int = hparam(512, "Context in tokens; longer texts follow the length policy.")
    epochs: int = hparam(10, "Training epochs (at most; early stopping may end sooner).")
    batch_size: int = hparam(16, "Networks per batch.")
    grad_accum: int = hparam(1, "Gradient accumulation steps.")
    lr: float | None = hparam(None, "Learning rate. Default: 1e-3 from scratch, 5e-5 pretrained.")
    lr_grid: tuple[float, ...] = hparam((), "Several rates, comma-separated (e.g. 1e-3,3e-4,1e-4): one run each on "
                                        "the same split; the best validation Kendall is kept. Not with --lr.")
    weight_decay: float = hparam(0.01, "AdamW weight decay (not on biases and norms).")
    warmup_ratio: float = hparam(0.1, "Share of the steps spent warming the learning rate up.")
    dropout: float = hparam(0.1, "Dropout of the regression head.")
    vocab_size: int = hparam(2048, "Learned BPE vocabulary (scratch backbones).")
    val_fraction: float = hparam(0.1, "Share of each space's training networks held out for model selection when "
                                 "no validation set is given (the CLI uses the store's val split).", cli=False)
    patience: int = hparam(3, "Early stopping: epochs without validation improvement.")
    seed: int = hparam(0, "Random seed (split, initialisation, batches).")
    mixed_precision: str = hparam("auto", "auto | bf16 | fp16 | no.")
    gradient_checkpointing: bool = hparam(False, "Recompute activations in the backward pass (less memory).")
    keep_checkpoints: int = hparam(1, "Epoch checkpoints kept for resuming.")

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


def open_checkpoints(out: Path, fingerprint: str, resume: bool, what: str = "run",
                     inputs: str = "data") -> tuple[Path, dict[str, Any] | None]:
    """``out/checkpoints`` (created) and its saved state: ``None`` for a fresh run (or ``resume=False``, which clears
    it); a ``TrainingError`` when it holds a ``what`` with other ``inputs`` or settings."""
    out.mkdir(parents=True, exist_ok=True)
    ckpt = out / CKPT_DIR
    if not resume and ckpt.exists():
        shutil.rmtree(ckpt)
    state = _read_state(ckpt)
    if state is not None and state["fingerprint"] != fingerprint:
        raise TrainingError(
            f"{ckpt} holds a {what} with other {inputs} or settings; pass --no-resume to overwrite it, or a new --out"
        )
    ckpt.mkdir(parents=True, exist_ok=True)
    return ckpt, state


def make_accelerator(mixed_precision: str, seed: int, grad_accum: int = 1) -> tuple[Any, str]:
    """A fresh ``Accelerator`` (CPU when there is no GPU) with the run's precision, and that precision; seeds
    every generator with ``seed``."""
    import torch
    from accelerate import Accelerator
    from accelerate.utils import set_seed

    mp = auto_mixed_precision() if mixed_precision == "auto" else mixed_precision
    _fresh_accelerator_state()
    accel = Accelerator(mixed_precision=mp, gradient_accumulation_steps=grad_accum, cpu=not torch.cuda.is_available())
    set_seed(seed)
    return accel, mp


def save_epoch(accel: Any, ckpt: Path, epoch: int, state: dict[str, Any], keep: int = 1) -> None:
    """Checkpoint ``epoch`` (accelerate state + ``trainer_state.json``, written atomically) and drop all but the
    last ``keep`` epoch checkpoints."""
    accel.save_state(str(ckpt / f"epoch-{epoch}"))
    if accel.is_main_process:
        write_json(ckpt / STATE_FILE, {"epoch": epoch, **state})
        for old in sorted(ckpt.glob("epoch-*"), key=lambda p: int(p.name.split("-")[1]))[:-keep]:
            shutil.rmtree(old, ignore_errors=True)


def resume_from(accel: Any, ckpt: Path, state: dict[str, Any] | None, epochs: int, what: str = "") -> int:
    """Load the last epoch checkpoint of ``state`` (if any) into ``accel``; the epoch to start from."""
    if state is None:
        return 0
    last = ckpt / f"epoch-{int(state['epoch'])}"
    load_checkpoint(accel, last, ckpt)
    start = int(state["epoch"]) + 1
    if accel.is_main_process:
        print(f"resuming {what}from {last} (epoch {start + 1} of {epochs})")
    return start


@dataclass
class _Selection:
    """Model selection on validation: best mean Kendall so far, its epoch, epochs since, and every epoch's record."""

    best: float = -math.inf
    best_epoch: int | None = None
    bad_epochs: int = 0
    history: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    stopped: bool = False

    @classmethod
    def restore(cls, state: dict[str, Any] | None) -> "_Selection":
        if state is None:
            return cls()
        best = float(state.get("best", -math.inf)) if state.get("best") is not None else -math.inf
        return cls(best, state.get("best_epoch"), int(state.get("bad_epochs", 0)), list(state.get("history", [])),
                   bool(state.get("stopped", False)))

    def update(self, rec: dict[str, Any], score: float | None, patience: int) -> bool:
        """Record an epoch (``score``: its validation Kendall, ``None`` without validation); True if it is the best."""
        self.history.append(rec)
        if score is None:
            self.best_epoch = rec["epoch"]
            return True
        improved = score > self.best
        if improved:
            self.best, self.best_epoch, self.bad_epochs = score, rec["epoch"], 0
        else:
            self.bad_epochs += 1
        self.stopped = self.bad_epochs >= patience
        return improved

    def as_state(self, fingerprint: str) -> dict[str, Any]:
        return {"fingerprint": fingerprint, "best": None if self.best == -math.inf else self.best,
                "best_epoch": self.best_epoch, "bad_epochs": self.bad_epochs, "history": self.history,
                "stopped": self.stopped}


def _training_sets(texts: Sequence[str], y: Sequence[float], spaces: Sequence[str],
                   val: tuple[Sequence[str], Sequence[float], Sequence[str]] | None,
                   cfg: TrainConfig) -> tuple[TrainData, TrainData | None]:
    """The checked training set and the validation set (given, from the training spaces only, or split off)."""
    data = TrainData.make(texts, y, spaces)
    check_train_data(data)
    if val is None:
        return split_validation(data, cfg.val_fraction, cfg.seed)
    vdata = TrainData.make(*val)
    check_train_data(vdata, "validation")
    extra = sorted(set(vdata.spaces) - set(data.spaces))
    if extra:
        raise TrainingError(
            f"validation networks from {', '.join(extra)} are not in the training spaces; model selection must "
            "use held-out networks of the training spaces only (never the test space)"
        )
    return data, vdata


@dataclass
class _Run:
    """Everything one training run needs between its epochs."""

    cfg: TrainConfig
    accel: Any
    model: Any
    tokenizer: Any
    loader: Any
    sampler: Any
    opt: Any
    sched: Any
    loss_fn: Any
    lr: float
    steps_per_epoch: int
    space_names: list[str]
    ckpt: Path
    settings: dict[str, Any]

    def surrogate(self) -> Any:
        from onnxnet.surrogate.surrogate import Surrogate

        return Surrogate(self.accel.unwrap_model(self.model), self.tokenizer, self.settings)


def _setup(cfg: TrainConfig, data: TrainData, ckpt: Path, resumed: bool, accel: Any) -> _Run:
    """Backbone and tokenizer (a learned tokenizer is saved before training so a resumed run reuses it), batches,
    optimiser and schedule, all prepared by ``accel``."""
    import torch

    from onnxnet import __version__
    from onnxnet.surrogate.backbone import load_pretrained, resolve_backbone, scratch_config
    from onnxnet.surrogate.data import BucketBatchSampler, Collator, EncodedDataset
    from onnxnet.surrogate.inputs import encoding_version
    from onnxnet.surrogate.losses import get_loss
    from onnxnet.surrogate.model import SurrogateModel
    from onnxnet.surrogate.surrogate import tokenize

    loss_fn = get_loss(cfg.loss, **cfg.loss_params)
    targets, stats = normalize_per_space(data.y, data.spaces, cfg.target_norm)
    space_ids = {s: i for i, s in enumerate(sorted(set(data.spaces)))}
    try:
        enc_version = encoding_version(cfg.encoding)
    except Exception:  # texts were given directly; the encoder may not be importable or the name unknown
        enc_version = "?"
    spec = resolve_backbone(cfg.backbone, cfg.backbone_overrides)
    if spec.scratch:
        from transformers import ModernBertModel

        tokenizer = run_tokenizer(ckpt, resumed, data.texts, cfg.vocab_size, accel.is_main_process)
        torch.manual_seed(cfg.seed)
        backbone = ModernBertModel(scratch_config(spec, tokenizer, cfg.max_length))
    else:
        backbone, tokenizer = load_pretrained(spec)
    if cfg.gradient_checkpointing:
        backbone.gradient_checkpointing_enable()
    model = SurrogateModel(backbone, dropout=cfg.dropout)
    max_len = min(cfg.max_length, int(getattr(backbone.config, "max_position_embeddings", cfg.max_length)))
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
    settings: dict[str, Any] = {
        "onnxnet_version": __version__, "backbone": cfg.backbone, "scratch": spec.scratch,
        "encoding": {"name": cfg.encoding, "version": enc_version}, "max_length": max_len, "loss": cfg.loss,
        "target_norm": cfg.target_norm, "dropout": cfg.dropout, "space_stats": stats.as_dict(),
    }
    return _Run(cfg, accel, model, tokenizer, loader, sampler, opt, sched, loss_fn, lr, steps_per_epoch,
                sorted(space_ids), ckpt, settings)


def _train_epoch(run: _Run, epoch: int, global_step: int, progress: bool) -> tuple[dict[str, Any], int]:
    """One pass over the training batches; the epoch's record (loss, tokens, speed) and the new global step."""
    import torch
    from tqdm.auto import tqdm

    cfg, accel, model = run.cfg, run.accel, run.model
    run.sampler.set_epoch(epoch)
    model.train()
    bar = tqdm(run.loader, desc=f"epoch {epoch + 1}/{cfg.epochs}",
               disable=not (progress and accel.is_local_main_process), leave=False)
    run_loss, n_batches, n_tokens, t_epoch = 0.0, 0, 0, time.perf_counter()
    for b, batch in enumerate(bar):
        with accel.accumulate(model):
            scores = model(batch["input_ids"], batch["attention_mask"])
            loss = run.loss_fn(scores, batch["target"], batch["group"])
            if not torch.isfinite(loss.detach()):
                raise DivergedError(
                    f"loss became {float(loss.detach())} at epoch {epoch + 1}, step {global_step}, batch {b} "
                    f"(space {run.space_names[int(batch['group'][0])]!r}, {len(batch['target'])} networks); "
                    f"lower the learning rate (now {run.lr:g}) or check the targets; the last good checkpoint is "
                    f"in {run.ckpt}"
                )
            accel.backward(loss)
            if accel.sync_gradients:
                accel.clip_grad_norm_(model.parameters(), 1.0)
                global_step += 1
            run.opt.step()
            run.sched.step()
            run.opt.zero_grad()
        run_loss += float(loss.detach())
        n_batches += 1
        n_tokens += int(batch["attention_mask"].sum())
        bar.set_postfix(loss=f"{run_loss / n_batches:.4f}")
    bar.close()
    secs = time.perf_counter() - t_epoch
    return {"epoch": epoch + 1, "train_loss": run_loss / max(1, n_batches), "tokens": n_tokens,
            "seconds": round(secs, 2), "tokens_per_s": round(n_tokens / max(secs, 1e-9), 1)}, global_step


def _epoch_loop(run: _Run, sel: _Selection, start_epoch: int, vdata: TrainData | None, fp: str,
                progress: bool) -> None:
    """Train epochs from ``start_epoch``: validate, keep the best in ``checkpoints/best``, checkpoint every epoch,
    stop after ``patience`` epochs without improvement."""
    cfg, accel = run.cfg, run.accel
    global_step = start_epoch * run.steps_per_epoch
    for epoch in range(start_epoch, cfg.epochs):
        if sel.stopped:
            break
        rec, global_step = _train_epoch(run, epoch, global_step, progress)
        score = None
        if vdata is not None:
            pred = run.surrogate().predict_texts(vdata.texts, batch_size=cfg.batch_size * 2)
            rec["val"] = group_correlation(pred, vdata.y, vdata.spaces)
            score = rec["val"]["mean"]["kendall"]
        improved = sel.update(rec, score, cfg.patience)
        if accel.is_main_process:
            vtxt = f", val Kendall {score:.4f}" if score is not None else ""
            print(f"epoch {epoch + 1}/{cfg.epochs}: train loss {rec['train_loss']:.4f}{vtxt} "
                  f"({rec['seconds']:.0f} s, {rec['tokens_per_s']:.0f} tokens/s)"
                  + (" (best)" if improved and vdata is not None else ""))
        accel.wait_for_everyone()
        if improved and accel.is_main_process:
            run.surrogate().save_pretrained(run.ckpt / BEST_DIR)
        save_epoch(accel, run.ckpt, epoch, sel.as_state(fp), cfg.keep_checkpoints)
        if sel.stopped and accel.is_main_process:
            print(f"early stopping: no validation improvement for {cfg.patience} epochs")
    accel.wait_for_everyone()


def _finish(run: _Run, sel: _Selection, data: TrainData, vdata: TrainData | None, mp: str, out: Path,
            data_info: dict[str, Any] | None) -> Any:
    """The selected surrogate (the best epoch's, else the last), with the training record in its settings; saved."""
    from onnxnet.surrogate.surrogate import Surrogate

    best_dir = run.ckpt / BEST_DIR
    final = Surrogate.from_pretrained(best_dir) if (best_dir / "surrogate.json").is_file() else run.surrogate()
    final.settings.update(run.settings)
    names = run.space_names
    final.settings["training"] = {
        "config": run.cfg.as_dict(),
        "train_counts": {s: int((data.spaces == s).sum()) for s in names},
        "val_counts": {s: int((vdata.spaces == s).sum()) for s in names} if vdata is not None else {},
        "epochs_run": len(sel.history),
        "best_epoch": sel.best_epoch if vdata is not None else None,
        "val_metrics": next((h.get("val") for h in sel.history if h["epoch"] == sel.best_epoch), None),
        "history": sel.history,
        "mixed_precision": mp,
        "num_processes": run.accel.num_processes,
        **(data_info or {}),
    }
    if run.accel.is_main_process:
        final.save_pretrained(out)
    run.accel.wait_for_everyone()
    return final


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
    cfg = config or TrainConfig()
    if cfg.lr_grid:
        return train_lr_grid(texts, y, spaces, out_dir, cfg, train=train_surrogate, val=val, resume=resume,
                             progress=progress, data_info=data_info)
    data, vdata = _training_sets(texts, y, spaces, val, cfg)
    fp = _fingerprint(cfg, data, vdata)
    ckpt, state = open_checkpoints(Path(out_dir), fp, resume)
    accel, mp = make_accelerator(cfg.mixed_precision, cfg.seed, cfg.grad_accum)
    run = _setup(cfg, data, ckpt, state is not None, accel)
    start_epoch = resume_from(accel, ckpt, state, cfg.epochs)
    sel = _Selection.restore(state)
    _epoch_loop(run, sel, start_epoch, vdata, fp, progress)
    return _finish(run, sel, data, vdata, mp, Path(out_dir), data_info)
