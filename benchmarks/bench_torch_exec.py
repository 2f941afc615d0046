"""The ONNX torch executor against onnxruntime: exactness and cost per network, for each search space.

For ``--n`` seeded architectures of each space: build the torch network, export it (``load_model``: simplify,
canonicalise), run the ONNX file with onnxruntime and with ``to_torch(weights="file")`` on the same batch and
print the largest absolute difference of the logits, plus the time of ``to_torch`` (fresh init) and of one
forward pass of a 64-image batch (one torch thread).

    .venv/bin/python benchmarks/bench_torch_exec.py --n 3
"""

from __future__ import annotations

import argparse
import time

import numpy as np


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--spaces", default="nb201,nb101,nb301")
    ap.add_argument("--n", type=int, default=3)
    args = ap.parse_args()

    import onnxruntime as ort
    import torch

    from onnxnet.graph import load_model
    from onnxnet.graph.torch_exec import to_torch
    from onnxnet.spaces import get_space

    torch.set_num_threads(1)
    print("| space | nets | max abs diff vs onnxruntime | max abs logit | to_torch (ms) | forward, 64 images (ms) |")
    print("|---|---|---|---|---|---|")
    for name in args.spaces.split(","):
        space = get_space(name)
        diffs, scale, t_build, t_fwd = [], [], [], []
        for arch in space.sample_many(args.n, seed=0):
            torch.manual_seed(0)
            model = load_model(space.build(arch).eval(), input_shape=space.input_shape)
            x = np.random.default_rng(0).standard_normal(tuple(space.input_shape)).astype(np.float32)
            ref = ort.InferenceSession(model.SerializeToString()).run(None, {model.graph.input[0].name: x})[0]
            out = to_torch(model, normalize="none", weights="file").eval()(torch.from_numpy(x)).detach().numpy()
            diffs.append(float(np.abs(out - ref).max()))
            scale.append(float(np.abs(ref).max()))
            t0 = time.perf_counter()
            net = to_torch(model)
            t_build.append(time.perf_counter() - t0)
            batch = torch.randn(64, *space.input_shape[1:])
            t0 = time.perf_counter()
            with torch.no_grad():
                net(batch)
            t_fwd.append(time.perf_counter() - t0)
        print(f"| {name} | {args.n} | {max(diffs):.1e} | {max(scale):.2f} | {1e3 * np.mean(t_build):.0f} | "
              f"{1e3 * np.mean(t_fwd):.0f} |")


if __name__ == "__main__":
    main()
