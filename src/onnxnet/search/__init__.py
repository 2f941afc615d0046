"""Architecture search driven by the predictors: strategies (registry ``STRATEGIES``), oracles (``ORACLES``),
objectives and costs (``COSTS``), the predictor-guided loop and its resumable run folder."""

from onnxnet.search.loop import SearchConfig, SearchResult, run_search
from onnxnet.search.objectives import COSTS, SearchError, hypervolume, pareto_mask, parse_objective
from onnxnet.search.oracle import ORACLES, FunctionOracle, Oracle, TableOracle
from onnxnet.search.strategies import STRATEGIES, Strategy, get_strategy

__all__ = ["COSTS", "ORACLES", "STRATEGIES", "FunctionOracle", "Oracle", "SearchConfig", "SearchError",
           "SearchResult", "Strategy", "TableOracle", "get_strategy", "hypervolume", "pareto_mask",
           "parse_objective", "run_search"]
