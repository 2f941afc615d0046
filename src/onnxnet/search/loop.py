"""The search loop: strategies propose, the predictor scores, the oracle evaluates the best few, the predictor
is refitted on the true evaluations, and everything lands in a resumable run folder.

Without a predictor the strategy's fitness is the oracle itself (random search, evolution on true labels).
With one, each round (1) fits the predictor on the labelled evaluations when it learns in-space, (2) lets a
fresh strategy, warm-started with the ``warm`` best evaluated networks (scored by the predictor; not counted as
queries, they are not candidates), propose candidates scored by the predictor until the round's share of the
query budget is spent, (3) sends the ``batch`` best unevaluated candidates
(by score; with a cost, by non-dominated front of (score, cost), then score) to the oracle. A learning predictor
that was never fitted first sees ``init`` random evaluations.

Resuming: the loop is deterministic for a given configuration (seeded strategies, seeded predictors). A rerun
on the same folder replays it, taking every evaluation already in ``journal.jsonl`` from there (checking it is
the same architecture) instead of calling the oracle again, and goes on where the killed run stopped.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Hashable, Sequence

import numpy as np
import pandas as pd

from onnxnet.errors import DataError
from onnxnet.search.fitness import Fitness
from onnxnet.search.graphs import GraphRows
from onnxnet.search.journal import Journal
from onnxnet.search.objectives import Objective, SearchError, hypervolume, nondominated_ranks, pareto_mask
from onnxnet.search.oracle import ORACLES, Oracle, get_oracle
from onnxnet.search.strategies import STRATEGIES, get_strategy
from onnxnet.search.report import SearchResult, write_results

#: Candidates asked from a strategy per predictor call.
ASK_CHUNK = 20
#: Fixed random networks scored with every batch by a batch-relative fitness (``Fitness.needs_anchors``); they
#: are reference points, not candidates, so they do not count as queries.
N_ANCHORS = 100
#: Consecutive asks that bring nothing new before a round stops early (a small space is exhausted).
MAX_STALE_ASKS = 50


@dataclass
class SearchConfig:
    """Everything that determines a search (saved as ``config.json``; a resumed run must match it)."""

    space: str
    predictor: str | None = None  # a folder, a predictor name, or None (fitness = the oracle)
    predictor_params: dict[str, Any] = field(default_factory=dict)
    strategy: str = "evolution"
    strategy_params: dict[str, Any] = field(default_factory=dict)
    objective: str = "accuracy"
    queries: int = 2000
    evals: int = 50
    top: int = 10
    seed: int = 0
    init: int | None = None  # random true evaluations before a never-fitted predictor is used (None: auto)
    batch: int = 5  # true evaluations per round
    warm: int = 10  # best evaluated networks that warm-start each round's strategy
    refit: bool | None = None  # None: refit a learning predictor given by name, not a fitted folder
    oracle: str = "table"  # table (published labels) or train (the labelling pipeline), or any registered name
    oracle_params: dict[str, Any] = field(default_factory=dict)  # e.g. train: {"epochs": 12}
    label: str | None = None  # table oracle: the label column (default: the space's primary label)
    store: str | None = None  # read graphs from this benchmark store when it has them

    def check(self) -> None:
        """Refuse budgets and settings that cannot run, with a message saying what to change."""
        for name in ("queries", "evals", "top", "batch", "warm"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int):
                raise SearchError(f"--{name} must be an integer, got {value!r}")
        if self.evals < 1:
            raise SearchError(f"--evals {self.evals}: the search needs at least 1 true evaluation")
        if self.queries < 0 or self.top < 0 or self.warm < 0:
            raise SearchError("--queries, --top and --warm cannot be negative")
        if self.batch < 1:
            raise SearchError(f"--batch {self.batch}: at least 1 true evaluation per round")
        if self.init is not None and not 0 <= self.init <= self.evals:
            raise SearchError(f"--init {self.init} must be between 0 and --evals ({self.evals})")
        if self.predictor is not None and self.queries < 1:
            raise SearchError(f"--queries {self.queries}: a predictor-guided search needs predictor queries; "
                              "pass --queries N (e.g. 2000) or drop --predictor to search on true labels alone")
        STRATEGIES.get(self.strategy)
        ORACLES.get(self.oracle)
        if self.label and self.oracle != "table":
            raise SearchError(f"--label names a published label column; the {self.oracle!r} oracle makes its own")


class _Run:
    def __init__(self, cfg: SearchConfig, out: Path, oracle: Oracle | None, progress: bool,
                 cache_dir: Path | None, jobs: int = 1) -> None:
        from onnxnet.spaces import get_space

        self.cfg = cfg
        self.space = get_space(cfg.space)
        self.objective = Objective(None) if cfg.objective == "accuracy" else _objective(cfg.objective)
        self.out = out
        cache = cache_dir if cache_dir is not None else out / "cache"
        self.cache = cache
        self.graphs = GraphRows(self.space, cache, store=cfg.store, jobs=jobs)
        params = dict(cfg.oracle_params)
        if cfg.label:
            params["label"] = cfg.label
        self.oracle = oracle if oracle is not None else get_oracle(cfg.oracle, self.space, **params)
        self.fitness = None
        if cfg.predictor is not None:
            self.fitness = Fitness.from_spec(cfg.predictor, cfg.predictor_params, refit=cfg.refit,
                                             cache_dir=str(cache / "features"), seed=cfg.seed)
        if self.fitness is not None and self.fitness.needs_anchors(self.space.name):
            rng = np.random.default_rng(11)  # the same anchors in every seed (their graphs are cached once)
            anchors = {self.space.arch_hash(a): a for a in (self.space.sample(rng) for _ in range(N_ANCHORS))}
            self.fitness.anchors = self.graphs.rows(list(anchors.values()))
        self.journal = Journal(out / "journal.jsonl")
        self.evaluated: dict[str, dict[str, Any]] = {}
        self.archs: dict[str, Hashable] = {}
        self.queries = 0  # candidates scored; anchors and warm starts are not candidates
        self.bar = None
        if progress:
            from tqdm import tqdm

            self.bar = tqdm(total=cfg.evals, desc=f"search {cfg.space}", unit="eval")

    # -------------------------------------------------------------------------------------------- helpers
    def key(self, arch: Hashable) -> str:
        return self.space.arch_hash(arch)

    def rows(self, archs: Sequence[Hashable]) -> pd.DataFrame:
        return self.graphs.rows(archs)

    def costs(self, archs: Sequence[Hashable], rows: pd.DataFrame | None = None) -> np.ndarray:
        if self.objective.cost is None:
            return np.full(len(archs), np.nan)
        if self.objective.needs_graph and rows is None:
            rows = self.rows(archs)
        return self.objective.costs(self.space, archs, rows)

    def score(self, rows: pd.DataFrame) -> np.ndarray:
        assert self.fitness is not None
        self.queries += len(rows)
        return self.fitness.score(rows)

    def evaluate(self, archs: Sequence[Hashable], round_: int, scores: Sequence[float] | None = None) -> list[float]:
        """True accuracy of each architecture: from the journal when replaying, else from the oracle (one network
        at a time, each journaled before the next is asked, so a kill loses at most the one in progress)."""
        todo = [(k, a) for k, a in enumerate(archs) if self.key(a) not in self.evaluated]
        costs = self.costs([a for _, a in todo])
        out = []
        for (k, arch), cost in zip(todo, costs):
            i = len(self.evaluated)
            text = self.space.to_string(arch)
            if i < len(self.journal):
                rec = self.journal.records[i]
                if rec["arch"] != text:
                    raise DataError(f"{self.journal.path}: evaluation {i} was {rec['arch']} but this run proposes "
                                    f"{text}; the folder was written by another configuration or version. Use a "
                                    "new --out folder")
            else:
                acc = self.oracle.evaluate([arch])[0]
                self.journal.append({"arch": text, "arch_hash": self.key(arch), "round": round_,
                                     "accuracy": None if acc is None else float(acc),
                                     "score": None if scores is None or not np.isfinite(scores[k]) else float(scores[k]),
                                     "cost": None if not np.isfinite(cost) else float(cost),
                                     "queries": self.queries, "time": round(time.time(), 3)})
                rec = self.journal.records[i]
            self.evaluated[self.key(arch)] = rec
            self.archs[self.key(arch)] = arch
            out.append(np.nan if rec["accuracy"] is None else float(rec["accuracy"]))
            if self.bar is not None:
                self.bar.update(1)
                self.bar.set_postfix(best=f"{self.best():.2f}", queries=self.queries)
        return out

    def best(self) -> float:
        vals = [r["accuracy"] for r in self.evaluated.values() if r["accuracy"] is not None]
        return float(max(vals)) if vals else float("nan")

    def left(self) -> int:
        return self.cfg.evals - len(self.evaluated)

    # -------------------------------------------------------------------------------------------- loops
    def run(self) -> None:
        if self.fitness is None:
            self.run_labels_only()
        else:
            self.run_guided()

    def run_labels_only(self) -> None:
        """The strategy optimises the oracle's accuracy directly (one true evaluation per proposal)."""
        strat = get_strategy(self.cfg.strategy, self.space, seed=self.cfg.seed, n_objectives=self.objective.n,
                             **self.cfg.strategy_params)
        stale = 0
        while self.left() > 0 and stale < MAX_STALE_ASKS * 20:
            arch = strat.ask(1)[0]
            key = self.key(arch)
            if key in self.evaluated:  # already known: tell it again, no new evaluation
                rec = self.evaluated[key]
                stale += 1
            else:
                self.evaluate([arch], 0)
                rec = self.evaluated[key]
                stale = 0
            acc = np.nan if rec["accuracy"] is None else rec["accuracy"]
            cost = np.nan if rec["cost"] is None else rec["cost"]
            strat.tell([arch], [(acc, cost)[: self.objective.n]])

    def random_unevaluated(self, n: int, rng: np.random.Generator) -> list[Hashable]:
        out: list[Hashable] = []
        seen = set(self.evaluated)
        for _ in range(n * MAX_STALE_ASKS):
            if len(out) >= n:
                break
            a = self.space.sample(rng)
            if self.key(a) not in seen:
                seen.add(self.key(a))
                out.append(a)
        return out

    def run_guided(self) -> None:
        assert self.fitness is not None
        cfg = self.cfg
        rng = np.random.default_rng([cfg.seed, 7])
        n_init = cfg.init if cfg.init is not None else (min(10, max(2, cfg.evals // 5)) if self.fitness.needs_fit
                                                        else 0)
        if self.fitness.needs_fit and n_init < 2:
            raise SearchError(f"predictor {self.fitness.name!r} learns from the search's evaluations: it needs "
                              f"--init of at least 2 random evaluations (got {n_init})")
        if n_init:
            self.evaluate(self.random_unevaluated(n_init, rng), 0)
        n_rounds = math.ceil(self.left() / cfg.batch) if self.left() > 0 else 0
        for r in range(1, n_rounds + 1):
            if self.left() <= 0:
                break
            self.maybe_refit()
            rounds_left = n_rounds - r + 1
            q_round = (cfg.queries - self.queries) // rounds_left  # 0 once the budget is spent: random picks
            pool = self.propose(r, q_round)
            k = min(cfg.batch, self.left())
            chosen = self.select(pool, k)
            if len(chosen) < k:  # the predictor's pool ran dry: fill at random
                extra = [a for a in self.random_unevaluated(k - len(chosen), rng)
                         if self.key(a) not in {self.key(c) for c, _ in chosen}]
                chosen += [(a, float("nan")) for a in extra]
            if not chosen:
                break
            self.evaluate([a for a, _ in chosen], r, [s for _, s in chosen])

    def maybe_refit(self) -> None:
        assert self.fitness is not None
        if not (self.fitness.refit or self.fitness.needs_fit):
            return
        keys = [k for k, rec in self.evaluated.items() if rec["accuracy"] is not None]
        if len(keys) < 2:
            return
        rows = self.rows([self.archs[k] for k in keys])
        y = np.array([self.evaluated[k]["accuracy"] for k in keys], dtype=float)
        self.fitness.fit(rows, y)

    def propose(self, round_: int, q_round: int) -> dict[str, tuple[Hashable, float, float]]:
        """Candidates of one round scored by the predictor: ``{arch hash: (arch, score, cost)}``."""
        cfg = self.cfg
        strat = get_strategy(cfg.strategy, self.space, seed=cfg.seed * 1000 + round_, n_objectives=self.objective.n,
                             **cfg.strategy_params)
        spent = 0
        labelled = sorted((k for k, rec in self.evaluated.items() if rec["accuracy"] is not None),
                          key=lambda k: -self.evaluated[k]["accuracy"])[: cfg.warm]
        if labelled:  # evaluated networks are not candidates: their scores do not count as queries
            warm = [self.archs[k] for k in labelled]
            rows = self.rows(warm)
            assert self.fitness is not None
            scores = self.fitness.score(rows)
            strat.warm_start(warm, list(zip(scores, self.costs(warm, rows))))
        pool: dict[str, tuple[Hashable, float, float]] = {}
        stale = 0
        while spent < q_round and stale < MAX_STALE_ASKS:
            asked = strat.ask(min(ASK_CHUNK, q_round - spent))
            new: dict[str, Hashable] = {}
            for a in asked:
                key = self.key(a)
                if key not in pool and key not in self.evaluated and key not in new:
                    new[key] = a
            if new:
                archs = list(new.values())
                rows = self.rows(archs)
                scores = self.score(rows)
                costs = self.costs(archs, rows)
                spent += len(archs)
                for key, a, s, c in zip(new, archs, scores, costs):
                    pool[key] = (a, float(s), float(c))
                stale = 0
            else:
                stale += 1
            values = []
            for a in asked:
                key = self.key(a)
                if key in pool:
                    values.append(pool[key][1:])
                else:  # already evaluated: its true accuracy is no predictor score; tell it as not better
                    values.append((-np.inf, np.inf))
            strat.tell(asked, [v[: self.objective.n] for v in values])
        return pool

    def select(self, pool: dict[str, tuple[Hashable, float, float]], k: int) -> list[tuple[Hashable, float]]:
        items = list(pool.values())
        if not items or k <= 0:
            return []
        scores = np.array([s for _, s, _ in items])
        if self.objective.n == 2:
            ranks = nondominated_ranks(np.where(np.isfinite(scores), scores, np.nan), [c for _, _, c in items])
            order = sorted(range(len(items)), key=lambda i: (ranks[i], -scores[i]))
        else:
            order = list(np.argsort(-scores, kind="stable"))
        return [(items[i][0], float(items[i][1])) for i in order[:k]]

    def close(self) -> None:
        self.graphs.close()
        if self.bar is not None:
            self.bar.close()


def _objective(text: str) -> Objective:
    from onnxnet.search.objectives import parse_objective

    return parse_objective(text)


def _check_folder(out: Path, cfg: SearchConfig) -> None:
    """A new folder, or one holding a run of the same configuration (then it resumes)."""
    saved = out / "config.json"
    want = json.loads(json.dumps(asdict(cfg), sort_keys=True, default=str))
    if saved.is_file():
        try:
            have = json.loads(saved.read_text())
        except ValueError:
            raise DataError(f"{saved} is not valid JSON; the run folder is damaged. Use a new --out") from None
        if have != want:
            diff = sorted(k for k in set(have) | set(want) if have.get(k) != want.get(k))
            raise SearchError(f"{out} holds a search with other settings ({', '.join(diff)} differ); resume it "
                              "with the same settings or use a new --out folder")
    elif out.exists() and any(out.iterdir()):
        raise SearchError(f"--out {out} exists and is not a search run folder (no config.json); use a new folder")
    else:
        from onnxnet.atomic import write_json

        out.mkdir(parents=True, exist_ok=True)
        write_json(saved, want)


def run_search(cfg: SearchConfig, out: str | Path, *, oracle: Oracle | None = None, progress: bool = True,
               cache_dir: str | Path | None = None, write_onnx: bool = True, jobs: int = 1) -> SearchResult:
    """Run (or resume) the search ``cfg`` in folder ``out``; see the module docstring.

    ``oracle`` replaces the configured one (e.g. a ``FunctionOracle``); ``cache_dir`` shares built graphs and
    features between runs (default ``out/cache``); ``jobs`` > 1 builds missing graphs in that many processes.
    """
    from onnxnet.spaces import get_space

    cfg.check()
    get_space(cfg.space)  # unknown space -> UnknownNameError before any folder is made
    if cfg.objective != "accuracy":
        _objective(cfg.objective)
    if cfg.predictor is not None:
        Fitness.from_spec(cfg.predictor, cfg.predictor_params, refit=cfg.refit)  # bad predictor: fail early
    out = Path(out)
    _check_folder(out, cfg)
    run = _Run(cfg, out, oracle, progress, Path(cache_dir) if cache_dir is not None else None, jobs)
    try:
        run.run()
    finally:
        run.close()
    return write_results(run, write_onnx=write_onnx)
