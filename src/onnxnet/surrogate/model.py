"""The surrogate network: an encoder backbone, mean pooling over tokens, and a one-output head."""

from __future__ import annotations

import torch


class SurrogateModel(torch.nn.Module):
    """``forward(input_ids, attention_mask) -> scores (B,)``; ``embed`` gives the pooled text representation."""

    def __init__(self, backbone: torch.nn.Module, dropout: float = 0.1) -> None:
        super().__init__()
        self.backbone = backbone
        hidden = int(backbone.config.hidden_size)
        self.dropout = torch.nn.Dropout(dropout)
        self.head = torch.nn.Linear(hidden, 1)

    def embed(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """Mean of the last hidden states over real (non-pad) tokens."""
        out = self.backbone(input_ids=input_ids, attention_mask=attention_mask)
        h = out.last_hidden_state
        m = attention_mask.unsqueeze(-1).to(h.dtype)
        return (h * m).sum(1) / m.sum(1).clamp(min=1.0)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return self.head(self.dropout(self.embed(input_ids, attention_mask))).squeeze(-1)
