"""Tokenised examples, length-bucketed single-space batches, and dynamic padding."""

from __future__ import annotations

from typing import Any, Iterator, Sequence

import numpy as np
import torch


class EncodedDataset(torch.utils.data.Dataset):
    """Token ids with a normalised target and an integer space id per network."""

    def __init__(self, input_ids: Sequence[Sequence[int]], targets: Sequence[float], groups: Sequence[int]) -> None:
        self.input_ids = [list(map(int, x)) for x in input_ids]
        self.targets = np.asarray(targets, dtype=np.float32)
        self.groups = np.asarray(groups, dtype=np.int64)

    def __len__(self) -> int:
        return len(self.input_ids)

    def __getitem__(self, i: int) -> dict[str, Any]:
        return {"input_ids": self.input_ids[i], "target": float(self.targets[i]), "group": int(self.groups[i])}

    @property
    def lengths(self) -> np.ndarray:
        return np.fromiter((len(x) for x in self.input_ids), dtype=np.int64, count=len(self.input_ids))


class BucketBatchSampler(torch.utils.data.Sampler[list[int]]):
    """Batches of one space each, of similar lengths, in a seeded order that changes every epoch.

    Per space: shuffle, cut into mega-batches of ``bucket_factor`` batches, sort each by length, cut into batches;
    then shuffle all batches. Padding stays small and every batch can form ranking pairs.
    """

    def __init__(self, lengths: np.ndarray, groups: np.ndarray, batch_size: int, *, shuffle: bool = True,
                 seed: int = 0, bucket_factor: int = 50) -> None:
        self.lengths, self.groups = np.asarray(lengths), np.asarray(groups)
        self.batch_size, self.shuffle, self.seed = int(batch_size), shuffle, int(seed)
        self.bucket_factor = int(bucket_factor)
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def _batches(self) -> list[list[int]]:
        rng = np.random.default_rng([self.seed, self.epoch])
        batches: list[list[int]] = []
        for g in np.unique(self.groups):
            idx = np.flatnonzero(self.groups == g)
            if self.shuffle:
                idx = rng.permutation(idx)
            mega = self.batch_size * self.bucket_factor
            for k in range(0, len(idx), mega):
                chunk = idx[k:k + mega]
                chunk = chunk[np.argsort(self.lengths[chunk], kind="stable")]
                batches += [chunk[b:b + self.batch_size].tolist() for b in range(0, len(chunk), self.batch_size)]
        if self.shuffle:
            batches = [batches[i] for i in rng.permutation(len(batches))]
        return batches

    def __iter__(self) -> Iterator[list[int]]:
        yield from self._batches()

    def __len__(self) -> int:
        return sum(-(-int((self.groups == g).sum()) // self.batch_size) for g in np.unique(self.groups))


def pad_batch(input_ids: Sequence[Sequence[int]], pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Right-pad to the longest sequence of this batch only (dynamic padding)."""
    n = max(len(x) for x in input_ids)
    ids = torch.full((len(input_ids), n), int(pad_id), dtype=torch.long)
    mask = torch.zeros((len(input_ids), n), dtype=torch.long)
    for r, x in enumerate(input_ids):
        ids[r, : len(x)] = torch.as_tensor(x, dtype=torch.long)
        mask[r, : len(x)] = 1
    return ids, mask


class Collator:
    """``DataLoader`` collate function: dynamic padding plus target and group tensors."""

    def __init__(self, pad_id: int) -> None:
        self.pad_id = int(pad_id)

    def __call__(self, items: list[dict[str, Any]]) -> dict[str, torch.Tensor]:
        ids, mask = pad_batch([it["input_ids"] for it in items], self.pad_id)
        return {
            "input_ids": ids,
            "attention_mask": mask,
            "target": torch.tensor([it["target"] for it in items], dtype=torch.float32),
            "group": torch.tensor([it["group"] for it in items], dtype=torch.long),
        }
