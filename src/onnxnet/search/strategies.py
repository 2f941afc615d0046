"""Search strategies (registry ``STRATEGIES``): propose architectures, learn from their fitness.

Ask/tell: ``ask(n)`` proposes ``n`` architectures, ``tell(archs, values)`` reports their fitness, one tuple per
architecture: ``(score,)`` for accuracy alone (higher is better) or ``(score, cost)`` for two objectives (cost:
lower is better). ``warm_start`` tells architectures found earlier. The fitness is whatever the search loop
uses: true labels, or a predictor's scores.

- ``random``: uniform samples (``SearchSpace.sample``).
- ``evolution``: regularised evolution (Real et al., 2019) with the space's own ``mutate``: a tournament of
  ``sample_size`` from a population of the last ``population`` told architectures, the winner's child joins,
  the oldest leaves. With two objectives the tournament prefers the lower non-dominated front, then the score.
- ``tpe`` / ``nsga2``: optuna's TPE sampler (multi-objective TPE for two objectives) and NSGA-II, over the
  space's categorical ``choices()``; a choice that gives an invalid architecture is told as failed and redrawn.
"""

from __future__ import annotations

from collections import deque
from typing import Any, Hashable, Sequence

import numpy as np

from onnxnet.errors import ArchitectureError
from onnxnet.registry import Registry
from onnxnet.search.objectives import SearchError, nondominated_ranks

#: Strategies by name; each class takes ``(space, seed=0, n_objectives=1, **params)``.
STRATEGIES: Registry[type["Strategy"]] = Registry("search strategy")

Values = tuple[float, ...]


class Strategy:
    """Base class of a search strategy."""

    def __init__(self, space: Any, seed: int = 0, n_objectives: int = 1) -> None:
        if n_objectives not in (1, 2):
            raise SearchError(f"{n_objectives} objectives; a search has accuracy and at most one cost")
        self.space = space
        self.seed = seed
        self.n_objectives = n_objectives
        self.rng = np.random.default_rng(seed)

    def ask(self, n: int) -> list[Hashable]:
        raise NotImplementedError

    def tell(self, archs: Sequence[Hashable], values: Sequence[Values]) -> None:
        """Record the fitness of proposed architectures (strategies that do not learn ignore it)."""

    def warm_start(self, archs: Sequence[Hashable], values: Sequence[Values]) -> None:
        """Architectures (with fitness) known before this strategy started."""
        self.tell(archs, values)


@STRATEGIES.register("random")
class RandomSearch(Strategy):
    """Uniform random sampling."""

    def ask(self, n: int) -> list[Hashable]:
        return [self.space.sample(self.rng) for _ in range(n)]


@STRATEGIES.register("evolution")
class RegularizedEvolution(Strategy):
    """Regularised (ageing) evolution with the space's ``mutate(arch, rng)``."""

    def __init__(self, space: Any, seed: int = 0, n_objectives: int = 1, population: int = 20,
                 sample_size: int = 5) -> None:
        super().__init__(space, seed, n_objectives)
        if not hasattr(space, "mutate"):
            raise SearchError(f"space {space.name!r} has no mutate(arch, rng); use --strategy random, tpe or nsga2")
        if population < 2 or not 1 <= sample_size <= population:
            raise SearchError(f"evolution: need population >= 2 and 1 <= sample_size <= population, got "
                              f"population={population}, sample_size={sample_size}")
        self.population = population
        self.sample_size = sample_size
        self._pop: deque[tuple[Hashable, Values]] = deque(maxlen=population)

    def _winner(self) -> Hashable:
        idx = self.rng.choice(len(self._pop), size=min(self.sample_size, len(self._pop)), replace=False)
        cand = [self._pop[int(i)] for i in idx]
        scores = np.array([v[0] for _, v in cand], dtype=float)
        scores = np.where(np.isfinite(scores), scores, -np.inf)
        if self.n_objectives == 2:
            ranks = nondominated_ranks(scores, [v[1] for _, v in cand])
            best = min(range(len(cand)), key=lambda k: (ranks[k], -scores[k]))
        else:
            best = int(np.argmax(scores))
        return cand[best][0]

    def ask(self, n: int) -> list[Hashable]:
        if len(self._pop) < self.population:  # fill the first population at random
            return [self.space.sample(self.rng) for _ in range(n)]
        return [self.space.mutate(self._winner(), self.rng) for _ in range(n)]

    def tell(self, archs: Sequence[Hashable], values: Sequence[Values]) -> None:
        for a, v in zip(archs, values):
            self._pop.append((a, tuple(float(x) for x in v)))

    def warm_start(self, archs: Sequence[Hashable], values: Sequence[Values]) -> None:
        """The best ``population`` of them (by score) seed the population."""
        order = sorted(range(len(archs)), key=lambda k: -_finite(values[k][0]))[: self.population]
        self.tell([archs[k] for k in reversed(order)], [values[k] for k in reversed(order)])


def _finite(x: float) -> float:
    return float(x) if np.isfinite(x) else -np.inf


class OptunaStrategy(Strategy):
    """An optuna sampler over ``space.choices()`` through optuna's ask/tell interface."""

    max_redraws = 1000

    def __init__(self, space: Any, seed: int = 0, n_objectives: int = 1) -> None:
        super().__init__(space, seed, n_objectives)
        if not (hasattr(space, "choices") and hasattr(space, "from_choices")):
            raise SearchError(f"space {space.name!r} does not map to categorical choices; use --strategy random "
                              "or evolution")
        import optuna

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        self._choices = {k: list(v) for k, v in space.choices().items()}
        self._dists = {k: optuna.distributions.CategoricalDistribution(v) for k, v in self._choices.items()}
        directions = ["maximize"] if n_objectives == 1 else ["maximize", "minimize"]
        self.study = optuna.create_study(directions=directions, sampler=self._sampler(seed, n_objectives))
        self._pending: dict[str, list[Any]] = {}

    def _sampler(self, seed: int, n_objectives: int) -> Any:
        raise NotImplementedError

    def ask(self, n: int) -> list[Hashable]:
        from optuna.trial import TrialState

        out = []
        for _ in range(n):
            for _ in range(self.max_redraws):
                trial = self.study.ask(self._dists)
                try:
                    arch = self.space.from_choices(trial.params)
                except ArchitectureError:
                    self.study.tell(trial, state=TrialState.FAIL)
                    continue
                self._pending.setdefault(self.space.to_string(arch), []).append(trial)
                out.append(arch)
                break
            else:
                raise SearchError(f"{type(self).__name__}: no valid {self.space.name} architecture in "
                                  f"{self.max_redraws} draws")
        return out

    def tell(self, archs: Sequence[Hashable], values: Sequence[Values]) -> None:
        from optuna.trial import TrialState

        for a, v in zip(archs, values):
            trials = self._pending.get(self.space.to_string(a))
            if not trials:
                continue
            trial = trials.pop(0)
            vals = [float(x) for x in v[: self.n_objectives]]
            if all(np.isfinite(vals)):
                self.study.tell(trial, vals if self.n_objectives == 2 else vals[0])
            else:
                self.study.tell(trial, state=TrialState.FAIL)

    def warm_start(self, archs: Sequence[Hashable], values: Sequence[Values]) -> None:
        """Known architectures become completed trials (when the space can write an arch back as choices)."""
        import optuna

        if not hasattr(self.space, "to_choices"):
            return
        for a, v in zip(archs, values):
            vals = [float(x) for x in v[: self.n_objectives]]
            if not all(np.isfinite(vals)):
                continue
            self.study.add_trial(optuna.trial.create_trial(params=self.space.to_choices(a), distributions=self._dists,
                                                           values=vals))


@STRATEGIES.register("tpe")
class TPESearch(OptunaStrategy):
    """optuna's Tree-structured Parzen Estimator (multivariate; multi-objective TPE for two objectives)."""

    def __init__(self, space: Any, seed: int = 0, n_objectives: int = 1, n_startup_trials: int = 10) -> None:
        self.n_startup_trials = n_startup_trials
        super().__init__(space, seed, n_objectives)

    def _sampler(self, seed: int, n_objectives: int) -> Any:
        import optuna

        return optuna.samplers.TPESampler(seed=seed, n_startup_trials=self.n_startup_trials, multivariate=True)


@STRATEGIES.register("nsga2")
class NSGA2Search(OptunaStrategy):
    """optuna's NSGA-II (also runs with accuracy alone, as a genetic algorithm)."""

    def __init__(self, space: Any, seed: int = 0, n_objectives: int = 1, population_size: int = 20) -> None:
        self.population_size = population_size
        super().__init__(space, seed, n_objectives)

    def _sampler(self, seed: int, n_objectives: int) -> Any:
        import optuna

        return optuna.samplers.NSGAIISampler(seed=seed, population_size=self.population_size)


def get_strategy(name: str, space: Any, seed: int = 0, n_objectives: int = 1, **params: Any) -> Strategy:
    """An instance of the registered strategy ``name``."""
    import inspect

    cls = STRATEGIES.get(name)
    accepted = set(inspect.signature(cls.__init__).parameters) - {"self", "space", "seed", "n_objectives"}
    bad = sorted(set(params) - accepted)
    if bad:
        raise SearchError(f"strategy {name!r} takes no parameter(s) {bad}; it takes: {', '.join(sorted(accepted))}")
    return cls(space, seed=seed, n_objectives=n_objectives, **params)
