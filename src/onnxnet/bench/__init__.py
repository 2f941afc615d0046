"""onnxnet.bench: ONNX-Bench stores: published labels with provenance, the build pipeline, the Parquet store,
ONNX-Bench interop, and store statistics.

    from onnxnet.bench import BenchStore, BuildOptions, build_store, load_labels
    build_store(BuildOptions(space="nb201", out="runs/bench", labelled_only=True, jobs=2))
    df = BenchStore("runs/bench").read(spaces=["nb201"])

Names are imported lazily so ``import onnxnet.bench.<module>`` stays light.
"""

from __future__ import annotations

from typing import Any

_EXPORTS = {
    "BenchStore": "onnxnet.bench.store",
    "split_of": "onnxnet.bench.store",
    "BuildOptions": "onnxnet.bench.build",
    "build_store": "onnxnet.bench.build",
    "load_labels": "onnxnet.bench.labels",
    "LabelTable": "onnxnet.bench.labels",
    "label_info": "onnxnet.bench.provenance",
    "labels_for": "onnxnet.bench.provenance",
    "primary_label": "onnxnet.bench.provenance",
    "import_onnx_bench": "onnxnet.bench.interop",
    "export_onnx_bench": "onnxnet.bench.interop",
    "store_info": "onnxnet.bench.info",
    "materialize": "onnxnet.graph.weights",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        import importlib

        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'onnxnet.bench' has no attribute {name!r}")
