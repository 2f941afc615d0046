"""Whether skipping onnxsim passes changes the canonical graphs of search-space networks (graph hash and text).

    python benchmarks/check_simplifier_passes.py --n 8 --spaces nb201,nb101,nb301,transnas_micro

For each space, ``--n`` seeded random architectures go through ``bench.build.canonical_onnx`` twice: once with no
onnxsim pass skipped, once with ``--skip`` (default: ``graph.load.VALUE_DEPENDENT_PASSES``, the passes that need weight values);
prints how many are identical and the architectures that are not. Feature caches are keyed by graph hash, so a
pass list that changes a space's graphs would invalidate them.
"""

from __future__ import annotations

import argparse
import time
import warnings


def main() -> None:
    import onnxsim

    from onnxnet.bench.build import canonical_onnx
    from onnxnet.encode import encode
    from onnxnet.graph import graph_hash
    from onnxnet.graph.load import VALUE_DEPENDENT_PASSES
    from onnxnet.spaces import get_space

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=8)
    ap.add_argument("--spaces", default="nb201,nb101,nb301,transnas_micro")
    ap.add_argument("--skip", default=",".join(VALUE_DEPENDENT_PASSES), help="comma-separated onnxsim pass names")
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    warnings.filterwarnings("ignore")
    original = onnxsim.simplify
    skip: list[str] = []

    def simplify(model, **kw):  # noqa: ANN001, ANN202
        return original(model, **{**kw, "skipped_optimizers": list(skip)})

    onnxsim.simplify = simplify
    for name in a.spaces.split(","):
        space = get_space(name)
        archs = space.sample_many(a.n, seed=a.seed)
        same, t = 0, time.time()
        for arch in archs:
            skip[:] = []
            m0 = canonical_onnx(space, arch)
            skip[:] = [s for s in a.skip.split(",") if s]
            m1 = canonical_onnx(space, arch)
            if graph_hash(m0) == graph_hash(m1) and encode(m0) == encode(m1):
                same += 1
            else:
                print(f"  differs: {name} {space.to_string(arch)}", flush=True)
        print(f"{name}: {same}/{len(archs)} identical ({time.time() - t:.0f} s)", flush=True)


if __name__ == "__main__":
    main()
