"""Evaluation of accuracy predictors: metrics, the paper's protocols, and reports.

    from onnxnet.evaluate import zero_shot, write_report
    res = zero_shot(rows, "gbm", "nb101", "nb201", seeds=5)
    print(res.summary()); write_report(res, "results/zero-shot")
"""

from onnxnet.evaluate.metrics import (
    evaluate_predictions,
    kendall_tau,
    mae,
    precision_at_top_k,
    r2,
    spearman_rho,
)
from onnxnet.evaluate.protocols import (
    PROTOCOLS,
    ProtocolResult,
    all_spaces,
    cross_task,
    few_shot,
    in_space,
    leave_one_space_out,
    zero_shot,
)
from onnxnet.evaluate.report import markdown_table, write_report

__all__ = [
    "PROTOCOLS", "ProtocolResult", "all_spaces", "cross_task", "evaluate_predictions", "few_shot", "in_space",
    "kendall_tau", "leave_one_space_out", "mae", "markdown_table", "precision_at_top_k", "r2", "spearman_rho",
    "write_report", "zero_shot",
]
