"""``meco_batch``: MeCo's minimum eigenvalue of the channel correlation, over the whole batch.

MeCo (``meco.py``) correlates a layer's channels over the positions of *one* image; when a layer has more channels
than positions (NB101's last stage: 512 channels on 8 x 8, a 256-px network fed at 64 px) that matrix is rank
deficient, its smallest eigenvalue is 0, and the layer says nothing. Here the positions of every image of the batch
are pooled (taken at a fixed stride down to at most ``POSITIONS_PER_CHANNEL`` x channels, which bounds the cost),
so deep, narrow-map layers count too and one image's noise averages out. Summed over layers, higher is better.
"""

from __future__ import annotations

from typing import Any

from onnxnet.features.proxies._relu import relu_proxy
from onnxnet.features.proxies.meco import Meco

#: Positions kept per channel (a fixed stride over images x positions).
POSITIONS_PER_CHANNEL = 8


class MecoBatch(Meco):
    def positions(self, output: Any) -> Any:
        """Every image's positions, pooled, at a fixed stride down to ``POSITIONS_PER_CHANNEL`` x channels."""
        channels = output.shape[1]
        fea = output.transpose(0, 1).reshape(channels, -1)
        return fea[:, ::max(1, fea.shape[1] // (POSITIONS_PER_CHANNEL * channels))]


meco_batch = relu_proxy("meco_batch", MecoBatch)
