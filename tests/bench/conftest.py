"""Fixtures for the bench tests: one tiny NB201 store built once, and hand-made ONNX files."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench_onnx_files import make_onnx  # noqa: F401  (re-exported for tests)

#: Three NB201 archs (official indices) that export quickly; 0 and 1 are rows 0 and 1 of the label tables.
ARCH_INDICES = (0, 1, 7)


@pytest.fixture(scope="session")
def nb201_archs_file(tmp_path_factory) -> Path:
    from onnxnet.spaces import get_space

    sp = get_space("nb201")
    p = tmp_path_factory.mktemp("archs") / "archs.txt"
    p.write_text("# three NB201 cells\n" + "\n".join(sp.to_string(sp.from_index(i)) for i in ARCH_INDICES) + "\n")
    return p


@pytest.fixture(scope="session")
def tiny_store(tmp_path_factory, nb201_archs_file) -> Path:
    """A 3-network NB201 store built in-process (chunks of 2: two part files)."""
    from onnxnet.bench.build import BuildOptions, build_store

    out = tmp_path_factory.mktemp("stores") / "tiny"
    build_store(BuildOptions(space="nb201", out=out, archs=nb201_archs_file, chunk_size=2, jobs=1,
                             reuse_isomorphic="off", progress=False))
    return out
