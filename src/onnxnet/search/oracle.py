"""Oracles: where a search's true evaluations come from.

``table``: the space's published labels (``onnxnet.bench.labels.load_labels``): NB201 200-epoch CIFAR-10 test
accuracy, NB101 108-epoch and NB301 100-epoch validation accuracy, TransNAS micro object-classification
validation accuracy (or any other label column with ``label=``). An architecture the table does not list has no
label (``None``): the search records it as evaluated without a label.
``train``: the labelling pipeline (``onnxnet.label``): each network is trained with one CIFAR-10 recipe
(``epochs``, ``train_images``, ... as ``onnxnet bench label``) in this process, and its *validation* accuracy is the
fitness (the test images stay unseen by the search); a failed or diverged training gives no label.
Another source of labels (a training cluster, a function) registers an oracle class with
``@ORACLES.register("name")``, or is wrapped with ``FunctionOracle``.
"""

from __future__ import annotations

from typing import Any, Callable, Hashable, Sequence

from onnxnet.registry import Registry
from onnxnet.search.objectives import SearchError

#: Oracles by name; each class takes ``(space, **params)``.
ORACLES: Registry[type["Oracle"]] = Registry("oracle")


class Oracle:
    """The true accuracy (percent) of architectures; ``None`` where unknown."""

    #: Name of the label this oracle gives (recorded in the run folder).
    label: str = "accuracy"

    def evaluate(self, archs: Sequence[Hashable]) -> list[float | None]:
        raise NotImplementedError

    def best(self) -> float | None:
        """The best accuracy reachable in the space, if the oracle knows it (for reports)."""
        return None


@ORACLES.register("table")
class TableOracle(Oracle):
    """Published labels of ``space`` (its primary label unless ``label`` names another column)."""

    def __init__(self, space: Any, label: str | None = None, data: str | None = None) -> None:
        from onnxnet.bench.labels import load_labels

        table = load_labels(space.name, data)
        name = label or table.primary
        if name is None or name not in table.frame.columns:
            have = ", ".join(table.frame.columns) or "none"
            raise SearchError(f"no published label {name!r} for space {space.name!r} in the data folder (labels: "
                              f"{have}); pass another --label, or use an oracle that trains networks")
        self.space = space
        self.label = name
        self.values = table.frame[name].dropna()

    def evaluate(self, archs: Sequence[Hashable]) -> list[float | None]:
        out: list[float | None] = []
        for a in archs:
            v = self.values.get(self.space.to_string(a))
            out.append(None if v is None else float(v))
        return out

    def best(self) -> float | None:
        return float(self.values.max()) if len(self.values) else None


@ORACLES.register("train")
class TrainOracle(Oracle):
    """Train each network with the labelling pipeline's recipe; the fitness is its validation accuracy.

    ``recipe`` fields are keyword arguments (``epochs=12``, ``train_images=5000``, ``device="cuda"``, ...);
    ``cifar10`` is the CIFAR-10 source (the JPEG pack or a ``cifar-10-batches-py`` folder; default: the data
    folder's pack). ``results`` keeps every ``TrainResult`` (status, curve, test accuracy) for the caller.
    """

    def __init__(self, space: Any, cifar10: str | None = None, cache_dir: str | None = None,
                 **recipe: Any) -> None:
        from onnxnet.label.recipe import Recipe

        self.space = space
        try:
            self.recipe = Recipe(**recipe)
        except TypeError as e:
            raise SearchError(f"train oracle: {e}; the recipe takes: epochs, batch_size, lr, train_images, "
                              "val_images, test_images, device, seed, ...") from None
        self.cifar10, self.cache_dir = cifar10, cache_dir
        self.label = f"onnxnet_cifar10_{self.recipe.epochs}ep_val"
        self.results: list[Any] = []
        self._data: Any = None

    def _device_data(self) -> Any:
        if self._data is None:
            import torch

            from onnxnet.label.data import load_cifar10
            from onnxnet.label.train import DeviceData

            device = self.recipe.device
            if device == "auto":
                device = "cuda" if torch.cuda.is_available() else "cpu"
            self._data = DeviceData.make(load_cifar10(self.cifar10, self.cache_dir), self.recipe, device)
        return self._data

    def evaluate(self, archs: Sequence[Hashable]) -> list[float | None]:
        from onnxnet.label.train import Network, train_network

        out: list[float | None] = []
        for a in archs:
            res = train_network(Network.from_arch(self.space, a), self._device_data(), self.recipe)
            self.results.append(res)
            out.append(float(res.val_acc) if res.status == "ok" and res.val_acc is not None else None)
        return out


class FunctionOracle(Oracle):
    """Any function ``arch -> accuracy or None`` as an oracle (for Python users and other label sources)."""

    def __init__(self, fn: Callable[[Hashable], float | None], label: str = "accuracy") -> None:
        self.fn = fn
        self.label = label

    def evaluate(self, archs: Sequence[Hashable]) -> list[float | None]:
        return [None if (v := self.fn(a)) is None else float(v) for a in archs]


def get_oracle(name: str, space: Any, **params: Any) -> Oracle:
    """An instance of the registered oracle ``name`` for ``space``."""
    return ORACLES.get(name)(space, **params)
