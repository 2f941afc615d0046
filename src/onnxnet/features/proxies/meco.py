"""MeCo (Jiang et al., NeurIPS 2023): the minimum eigenvalue of the channel correlation of feature maps.

For every ReLU's output (4-D feature maps only), the first image's map is reshaped to channels x positions, the
Pearson correlation matrix across channels is formed (NaN from constant channels -> 0) and its smallest
eigenvalue taken; the score is the sum over layers. Higher means less redundant channels at initialisation.
"""

from __future__ import annotations

from typing import Any

from onnxnet.features.proxies._relu import ReluStatistic, relu_proxy


class Meco(ReluStatistic):
    def __init__(self, n: int) -> None:
        self.total = 0.0
        self.layers = 0

    def positions(self, output: Any) -> Any:
        """The channels x positions matrix whose channel correlation is taken: the first image's map."""
        return output[0].reshape(output.shape[1], -1)

    def observe(self, output: Any) -> None:
        import torch

        if output.dim() != 4 or output.shape[1] < 2:
            return
        fea = self.positions(output)
        if fea.shape[1] < 2:
            return
        corr = torch.nan_to_num(torch.corrcoef(fea.double()), nan=0.0, posinf=0.0, neginf=0.0)
        self.total += float(torch.linalg.eigvalsh(corr)[0])
        self.layers += 1

    def score(self) -> float:
        return self.total if self.layers else float("nan")


meco = relu_proxy("meco", Meco)
