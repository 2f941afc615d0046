"""Train one network with the recipe: a search-space architecture (its native builder) or any ``.onnx`` file.

``Network`` names what to train (picklable, so executors can ship it); ``build_module`` turns it into a freshly
initialised ``nn.Module`` and checks it takes ``(N, 3, 32, 32)`` images and returns ``(N, 10)`` logits, raising
``NetworkError`` naming the wrong shape, output count or op. ``train_network`` runs the recipe and returns a
``TrainResult``: status ``ok`` with validation / test accuracy and the per-epoch curve, or ``diverged`` (loss
not finite), ``failed`` (an error, with its message) or ``timeout`` (a deadline passed); never an accuracy of 0
for a training that did not finish.
"""

from __future__ import annotations

import math
import os
import platform
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Optional

from onnxnet.errors import OnnxNetError, TrainingError
from onnxnet.label.recipe import Recipe

NUM_CLASSES = 10
INPUT_SHAPE = (3, 32, 32)


class NetworkError(OnnxNetError):
    """A network that cannot be trained on CIFAR-10 (wrong input / output shape, output count, untrainable op)."""


@dataclass(frozen=True)
class Network:
    """What to train: ``space`` + ``arch`` (native builder) or ``onnx`` (serialised ModelProto bytes)."""

    id: str
    space: Optional[str] = None
    arch: Optional[str] = None
    onnx: Optional[bytes] = None
    source: str = ""

    @classmethod
    def from_arch(cls, space: Any, arch: Any) -> "Network":
        from onnxnet.bench.build import network_id

        return cls(id=network_id(space, arch), space=space.name, arch=space.to_string(arch))

    @classmethod
    def from_onnx_file(cls, path: str | os.PathLike[str]) -> "Network":
        import hashlib
        from pathlib import Path

        p = Path(path)
        if not p.is_file():
            raise NetworkError(f"ONNX file {p} not found")
        data = p.read_bytes()
        return cls(id=f"onnx/{hashlib.sha256(data).hexdigest()[:16]}", onnx=data, source=str(p))

    def describe(self) -> str:
        return self.source or (f"{self.space} {self.arch}" if self.space else self.id)


@dataclass
class TrainResult:
    """Outcome of one training (accuracies in percent; ``None`` unless ``status == 'ok'``)."""

    id: str
    status: str
    val_acc: Optional[float] = None
    test_acc: Optional[float] = None
    curve: list[dict[str, float]] = field(default_factory=list)
    epochs: int = 0
    seconds: float = 0.0
    train_images: int = 0
    images_per_s: float = 0.0
    n_params: int = 0
    #: Images and seconds after the first steps (32, or a quarter of a short run) (warm-up: cuDNN autotuning, graph capture) for steady img/s.
    warm_images: int = 0
    warm_seconds: float = 0.0
    recipe_hash: str = ""
    seed: int = 0
    hardware: str = ""
    error: str = ""
    #: How it ran: ``eager`` or ``cuda-graph`` (and why a requested graph capture fell back to eager).
    mode: str = "eager"

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def steady_images_per_s(self) -> float:
        """Training images/s after the warm-up steps (0 if the training was shorter than the warm-up)."""
        if not self.warm_images or self.seconds <= self.warm_seconds:
            return 0.0
        return (self.train_images - self.warm_images) / (self.seconds - self.warm_seconds)


def hardware(device: str) -> str:
    """A short description of the device a training ran on (recorded with every label)."""
    import torch

    if device.startswith("cuda"):
        return f"{torch.cuda.get_device_name(torch.device(device))}, torch {torch.__version__}"
    return f"{platform.machine()} CPU x{torch.get_num_threads()} threads, torch {torch.__version__}"


# ----------------------------------------------------------------------------------------------- networks

def _shape_str(dims: list[int | None]) -> str:
    return "(" + ", ".join("?" if d is None else str(d) for d in dims) + ")"


def _onnx_io_check(model: Any, where: str) -> None:
    """Static checks of a ModelProto's input / output declarations (before any torch work)."""
    inits = {t.name for t in model.graph.initializer}
    inputs = [i for i in model.graph.input if i.name not in inits]
    if len(inputs) != 1:
        raise NetworkError(f"{where}: the graph has {len(inputs)} inputs ({[i.name for i in inputs]}); a CIFAR-10 "
                           "network takes exactly one image tensor of shape (N, 3, 32, 32)")
    dims = [d.dim_value if d.HasField("dim_value") else None for d in inputs[0].type.tensor_type.shape.dim]
    if len(dims) != 4 or any(d is not None and d != w for d, w in zip(dims[1:], INPUT_SHAPE)):
        raise NetworkError(f"{where}: input {inputs[0].name!r} has shape {_shape_str(dims)}; a CIFAR-10 network takes "
                           f"(N, 3, 32, 32) images. Re-export the model for 3x32x32 input")
    if len(model.graph.output) != 1:
        raise NetworkError(f"{where}: the graph has {len(model.graph.output)} outputs "
                           f"({[o.name for o in model.graph.output]}); training needs exactly one output of "
                           f"{NUM_CLASSES} class logits")
    odims = [d.dim_value if d.HasField("dim_value") else None
             for d in model.graph.output[0].type.tensor_type.shape.dim]
    if odims and odims[-1] is not None and odims[-1] != NUM_CLASSES:
        raise NetworkError(f"{where}: output {model.graph.output[0].name!r} has shape {_shape_str(odims)}; CIFAR-10 "
                           f"needs (N, {NUM_CLASSES}) logits")


def _trainable_bn(module: Any) -> Any:
    """Replace the executor's batch-statistics-only BatchNorms (restored after fused convs) by trainable ones
    with running statistics, so evaluation uses the statistics learnt in training."""
    import torch.nn as nn

    for name, child in list(module.named_children()):
        if isinstance(child, nn.modules.batchnorm._BatchNorm) and not child.track_running_stats:
            setattr(module, name, type(child)(child.num_features, eps=child.eps, affine=True))
        else:
            _trainable_bn(child)
    return module


def build_module(net: Network, seed: int = 0) -> Any:
    """A freshly initialised ``nn.Module`` for ``net`` (seeded), checked for shapes and trainability."""
    import torch

    torch.manual_seed(seed)
    if net.onnx is not None:
        import onnx

        from onnxnet.graph.torch_exec import to_torch

        where = net.describe()
        try:
            model = onnx.load_from_string(net.onnx)
        except Exception as e:  # noqa: BLE001  (protobuf raises several types)
            raise NetworkError(f"{where} is not a readable ONNX model ({type(e).__name__}: {e})") from None
        _onnx_io_check(model, where)
        try:
            module = to_torch(model, normalize="conv", weights="init", seed=seed)
        except OnnxNetError as e:
            raise NetworkError(f"{where}: cannot be trained: {e}") from None
        module = _trainable_bn(module)
    elif net.space is not None and net.arch is not None:
        from onnxnet.spaces import get_space

        space = get_space(net.space)
        module = space.build(space.parse(net.arch))
    else:
        raise NetworkError(f"network {net.id!r} names neither a space + arch nor an ONNX model")
    check_module(module, net.describe())
    return module


def check_module(module: Any, where: str) -> None:
    """Run 2 images forward and backward: the output must be one ``(2, 10)`` tensor and gradients must flow."""
    import torch

    module.train()
    x = torch.randn(2, *INPUT_SHAPE)
    try:
        y = module(x)
    except Exception as e:  # noqa: BLE001  (any op may reject the shape)
        msg = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise NetworkError(f"{where}: forward on a (2, 3, 32, 32) CIFAR-10 batch failed: {msg}") from None
    if isinstance(y, (tuple, list)):
        raise NetworkError(f"{where}: the network returns {len(y)} outputs; training needs exactly one output of "
                           f"{NUM_CLASSES} class logits")
    if tuple(y.shape) != (2, NUM_CLASSES):
        raise NetworkError(f"{where}: output shape {tuple(y.shape)} for a batch of 2; CIFAR-10 needs "
                           f"(N, {NUM_CLASSES}) logits")
    params = [p for p in module.parameters() if p.requires_grad]
    if not params:
        raise NetworkError(f"{where}: the network has no trainable weights")
    y.float().sum().backward()
    if all(p.grad is None for p in params):
        raise NetworkError(f"{where}: no gradient reaches any weight (an op on the path from the weights to the "
                           "logits is not differentiable, e.g. ArgMax, a comparison or a cast to an integer)")
    module.zero_grad(set_to_none=True)
    # The check's forward updated BN running statistics: reset them so the check leaves no trace.
    for m in module.modules():
        if hasattr(m, "reset_running_stats") and getattr(m, "track_running_stats", False):
            m.reset_running_stats()


# ----------------------------------------------------------------------------------------------- training

def lr_at(step: int, total: int, warmup: int, base: float) -> float:
    """Linear warm-up for ``warmup`` steps, then cosine from ``base`` to 0 at ``total``."""
    if warmup and step < warmup:
        return base * (step + 1) / warmup
    t = (step - warmup) / max(1, total - warmup)
    return base * 0.5 * (1.0 + math.cos(math.pi * t))


class _SGD:
    """SGD with (Nesterov) momentum and weight decay as foreach ops with a tensor learning rate (graph-capturable;
    the same arithmetic as ``torch.optim.SGD`` with ``dampening=0``)."""

    def __init__(self, params: list[Any], momentum: float, nesterov: bool, weight_decay: float) -> None:
        import torch

        self.params = params
        self.bufs = [torch.zeros_like(p) for p in params]
        self.momentum, self.nesterov, self.wd = momentum, nesterov, weight_decay
        for p in params:
            p.grad = torch.zeros_like(p)
        self.grads = [p.grad for p in params]

    def zero_grad(self) -> None:
        import torch

        torch._foreach_zero_(self.grads)

    def step(self, lr: Any) -> None:
        import torch

        with torch.no_grad():
            self._step(lr)

    def _step(self, lr: Any) -> None:
        import torch

        g = self.grads
        if self.wd:
            torch._foreach_add_(g, self.params, alpha=self.wd)
        torch._foreach_mul_(self.bufs, self.momentum)
        torch._foreach_add_(self.bufs, g)
        if self.nesterov:
            torch._foreach_add_(g, self.bufs, alpha=self.momentum)
            upd = g
        else:
            upd = self.bufs
        torch._foreach_add_(self.params, torch._foreach_mul(upd, lr), alpha=-1.0)


def evaluate(module: Any, x: Any, y: Any, recipe: Recipe, device: str) -> float:
    """Top-1 accuracy (%) of ``module`` on uint8 images ``x`` / labels ``y`` (tensors on ``device``)."""
    import torch

    from onnxnet.label.data import normalise

    bf16 = recipe.use_bf16(device)
    module.eval()
    correct = torch.zeros((), dtype=torch.long, device=x.device)
    with torch.no_grad(), torch.autocast(device_type="cuda" if device.startswith("cuda") else "cpu",
                                         dtype=torch.bfloat16, enabled=bf16):
        for i in range(0, len(x), recipe.eval_batch):
            xb = normalise(x[i:i + recipe.eval_batch], channels_last=device.startswith("cuda"))
            correct += (module(xb).argmax(1) == y[i:i + recipe.eval_batch]).sum()
    module.train()
    return 100.0 * float(correct.item()) / max(1, len(x))


@dataclass
class DeviceData:
    """The split's tensors on one device (uint8 images, int64 labels), made once and shared by many trainings."""

    train_x: Any
    train_y: Any
    val_x: Any
    val_y: Any
    test_x: Any
    test_y: Any
    split: str
    device: str

    @classmethod
    def make(cls, arrays: Any, recipe: Recipe, device: str) -> "DeviceData":
        import torch

        from onnxnet.label.data import to_device

        a = arrays.subset(recipe.train_images, recipe.val_images, recipe.test_images)
        if len(a.train_y) < recipe.batch_size:
            raise TrainingError(f"batch size {recipe.batch_size} is larger than the {len(a.train_y)} training "
                                "images; lower --batch-size or use more images")
        lab = lambda v: torch.from_numpy(v.astype("int64")).to(device)  # noqa: E731
        return cls(to_device(a.train_x, device), lab(a.train_y), to_device(a.val_x, device), lab(a.val_y),
                   to_device(a.test_x, device), lab(a.test_y), a.split, device)


def train_network(net: Network, data: DeviceData, recipe: Recipe, *, deadline: float | None = None,
                  on_epoch: Callable[[dict[str, float]], None] | None = None) -> TrainResult:
    """Train ``net`` with ``recipe`` on ``data``; never raises for a training problem (it becomes the status).

    ``NetworkError`` (the network itself is unusable) is raised, so a caller can report it before any work.
    ``deadline`` (a ``time.time()`` value) stops the training with status ``timeout`` once passed.
    """
    import torch

    device = data.device
    base = TrainResult(id=net.id, status="failed", epochs=recipe.epochs, recipe_hash=recipe.hash,
                       seed=recipe.seed, hardware=hardware(device))
    module = build_module(net, recipe.seed)
    base.n_params = int(sum(p.numel() for p in module.parameters()))
    t0 = time.time()
    try:
        return _train(module, data, recipe, device, base, t0, deadline, on_epoch)
    except torch.cuda.OutOfMemoryError as e:
        base.error = f"CUDA out of memory: {str(e).splitlines()[0]}"
    except (RuntimeError, ValueError, TrainingError) as e:
        base.error = f"{type(e).__name__}: {str(e).strip().splitlines()[0] if str(e).strip() else ''}"[:500]
    base.seconds = time.time() - t0
    return base


def _train(module: Any, data: DeviceData, recipe: Recipe, device: str, res: TrainResult, t0: float,
           deadline: float | None, on_epoch: Callable[[dict[str, float]], None] | None) -> TrainResult:
    import torch
    import torch.nn.functional as F

    from onnxnet.label.data import augment, normalise

    cuda = device.startswith("cuda")
    bf16 = recipe.use_bf16(device)
    module = module.to(device)
    if cuda:
        module = module.to(memory_format=torch.channels_last)
    module.train()
    params = [p for p in module.parameters() if p.requires_grad]
    opt = _SGD(params, recipe.momentum, recipe.nesterov, recipe.weight_decay)
    n = len(data.train_y)
    bs = recipe.batch_size
    steps = n // bs
    total = steps * recipe.epochs
    warm = int(round(recipe.warmup_epochs * steps))
    gen = torch.Generator(device=device).manual_seed(recipe.seed)
    lr_t = torch.zeros((), device=device)
    dev_type = "cuda" if cuda else "cpu"

    def forward_backward(xb: Any, yb: Any) -> Any:
        with torch.autocast(device_type=dev_type, dtype=torch.bfloat16, enabled=bf16, cache_enabled=False):
            out = module(xb)
        loss = F.cross_entropy(out.float(), yb, label_smoothing=recipe.label_smoothing)
        loss.backward()
        return loss, (out.argmax(1) == yb).sum()

    def step(xb: Any, yb: Any) -> tuple[Any, Any]:
        opt.zero_grad()
        loss, corr = forward_backward(xb, yb)
        opt.step(lr_t)
        return loss.detach(), corr

    state = list(module.buffers()) + opt.bufs  # what warm-up steps change (lr is 0 then: weights stay)
    graph_step = None
    if cuda and recipe.cuda_graphs:
        graph_step, why = _capture(step, bs, device, state)
        res.mode = "cuda-graph" if graph_step is not None else f"eager (graph capture failed: {why})"[:300]
    t_step = 0
    warm_steps = min(32, max(1, total // 4))
    for epoch in range(recipe.epochs):
        loss_sum = torch.zeros((), device=device)
        correct = torch.zeros((), dtype=torch.long, device=device)
        perm = torch.randperm(n, generator=gen, device=device)
        for i in range(steps):
            idx = perm[i * bs:(i + 1) * bs]
            xb = data.train_x[idx]
            if recipe.augment:
                xb = augment(xb, gen)
            xb = normalise(xb, channels_last=cuda)
            yb = data.train_y[idx]
            lr_t.fill_(lr_at(t_step, total, warm, recipe.lr))
            loss, corr = graph_step(xb, yb) if graph_step is not None else step(xb, yb)
            loss_sum += loss
            correct += corr
            t_step += 1
            res.train_images += bs
            if t_step == warm_steps:
                if cuda:
                    torch.cuda.synchronize(device)
                res.warm_images, res.warm_seconds = res.train_images, time.time() - t0
            if deadline is not None and time.time() > deadline:
                if cuda:
                    torch.cuda.synchronize(device)
                res.status, res.seconds = "timeout", time.time() - t0
                res.images_per_s = res.train_images / max(res.seconds, 1e-9)
                res.error = f"deadline passed in epoch {epoch + 1} after {res.train_images} training images"
                return res
        mean_loss = float(loss_sum.item()) / steps
        if not math.isfinite(mean_loss):
            res.status, res.seconds = "diverged", time.time() - t0
            res.error = f"training loss became {mean_loss} in epoch {epoch + 1}"
            res.images_per_s = res.train_images / max(res.seconds, 1e-9)
            return res
        point = {"epoch": epoch + 1, "train_loss": round(mean_loss, 5),
                 "train_acc": round(100.0 * float(correct.item()) / (steps * bs), 3),
                 "val_acc": round(evaluate(module, data.val_x, data.val_y, recipe, device), 3),
                 "seconds": round(time.time() - t0, 3)}
        res.curve.append(point)
        if on_epoch is not None:
            on_epoch(point)
    res.val_acc = res.curve[-1]["val_acc"]
    res.test_acc = round(evaluate(module, data.test_x, data.test_y, recipe, device), 3)
    res.seconds = time.time() - t0
    res.images_per_s = res.train_images / max(res.seconds, 1e-9)
    res.status = "ok"
    return res


def _capture(step: Callable[[Any, Any], Any], bs: int, device: str,
             state: list[Any]) -> tuple[Callable[[Any, Any], Any] | None, str]:
    """``step`` captured as a CUDA graph over static batch buffers, or ``None`` (eager) if capture fails.

    Capture needs a few eager warm-up steps; they run with learning rate 0 (weights unchanged), and ``state``
    (BN statistics, momentum buffers) is restored afterwards, so a captured training computes what eager would.
    """
    import torch

    static_x = torch.zeros((bs, *INPUT_SHAPE), device=device).contiguous(memory_format=torch.channels_last)
    static_y = torch.zeros((bs,), dtype=torch.long, device=device)
    snapshot = [t.detach().clone() for t in state]
    try:
        s = torch.cuda.Stream(device)
        s.wait_stream(torch.cuda.current_stream(device))
        with torch.cuda.stream(s):
            for _ in range(3):
                step(static_x, static_y)
        torch.cuda.current_stream(device).wait_stream(s)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            out = step(static_x, static_y)
    except RuntimeError as e:
        for t, v in zip(state, snapshot):
            t.copy_(v)
        return None, str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
    for t, v in zip(state, snapshot):
        t.copy_(v)

    def run(xb: Any, yb: Any) -> Any:
        static_x.copy_(xb)
        static_y.copy_(yb)
        graph.replay()
        return out

    return run, ""
