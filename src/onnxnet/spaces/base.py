"""The search-space contract: parse, print, sample, enumerate, hash and build architectures."""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from typing import Any, Hashable, Iterator, Sequence

import numpy as np

from onnxnet.errors import ArchitectureError
from onnxnet.registry import Registry

#: All search spaces, by name (``nb201``, ``nb101``, ``nb301``, ``transnas_micro``, ``hnb201``, ``einspace``,
#: ``macro``).
SPACES: Registry[type["SearchSpace"]] = Registry("search space")


class SearchSpace(ABC):
    """One NAS search space.

    An *architecture* is a hashable, space-specific value (a tuple, a frozen dataclass, ...). Its canonical
    string (``to_string``) round-trips through ``parse``. ``parse`` also accepts every other published form of the
    space's architectures (NASLib keys, adjacency+ops, ...), so label tables can be joined.
    """

    #: Registry name of the space.
    name: str = ""
    #: Input shape (N, C, H, W) the benchmark trains the network on.
    input_shape: tuple[int, ...] = (1, 3, 32, 32)
    #: Number of output classes of the benchmark network.
    num_classes: int = 10

    @abstractmethod
    def parse(self, text: Any) -> Hashable:
        """Parse any published form of an architecture; raise ``ArchitectureError`` naming what is wrong."""

    @abstractmethod
    def to_string(self, arch: Hashable) -> str:
        """The canonical string of ``arch`` (``parse(to_string(a)) == a``)."""

    @abstractmethod
    def sample(self, rng: np.random.Generator) -> Hashable:
        """One architecture drawn at random with ``rng``."""

    def sample_many(self, n: int, seed: int = 0) -> list[Hashable]:
        """``n`` architectures drawn with a seeded generator (may repeat if the space is small)."""
        rng = np.random.default_rng(seed)
        return [self.sample(rng) for _ in range(n)]

    @property
    def size(self) -> int | None:
        """Number of architecture strings in the space, or ``None`` if it is not finite / not enumerable."""
        return None

    def enumerate(self) -> Iterator[Hashable]:
        """Every architecture, in the space's canonical index order (only for finite spaces)."""
        raise ArchitectureError(f"search space {self.name!r} is not enumerable; sample from it instead")

    @abstractmethod
    def canonical_form(self, arch: Hashable) -> str:
        """A string equal for isomorphic architectures (same computation), different otherwise."""

    def arch_hash(self, arch: Hashable) -> str:
        """Hex hash of ``canonical_form``: isomorphic architectures collapse to one hash."""
        return hashlib.sha256(f"{self.name}:{self.canonical_form(arch)}".encode()).hexdigest()[:16]

    @abstractmethod
    def build(self, arch: Hashable) -> "Any":
        """The exact ``torch.nn.Module`` the original benchmark trained for ``arch`` (eval-ready)."""


def get_space(name: str) -> SearchSpace:
    """An instance of the registered space ``name``."""
    import onnxnet.spaces  # noqa: F401  (registers the built-in spaces)

    return SPACES.get(name)()


def space_names() -> list[str]:
    import onnxnet.spaces  # noqa: F401

    return SPACES.names()


