"""Label loaders: every table joins on the canonical arch string, with provenance, and nothing is dropped silently."""

from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pytest

from onnxnet.bench.labels import load_labels
from onnxnet.bench.provenance import label_info, primary_label
from onnxnet.errors import DataError, UnknownNameError


def test_nb201_labels_join_all_tables(shared_data):
    t = load_labels("nb201", shared_data)
    f = t.frame
    assert len(f) == 15_625 and t.primary == "cifar10_test_200ep" == primary_label("nb201")
    assert f["cifar10_test_200ep"].notna().all() and f["cifar10_test_200ep"].max() == pytest.approx(94.3733, abs=1e-3)
    # tables keyed by NASLib tuples (HW-NAS, zero-cost) land on the same rows as the cell-string tables
    assert f["hw_edgegpu_latency"].notna().sum() == 15_625 and f["zc_synflow"].notna().sum() == 9_445
    arch0 = "|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_1x1~0|skip_connect~1|skip_connect~2|"
    assert f.loc[arch0, "cifar10_test_200ep"] == pytest.approx(85.8633, abs=1e-3)
    assert f.loc[arch0, "hw_edgegpu_latency"] == pytest.approx(5.8074, abs=1e-3)  # NASLib key (4, 3, 3, 0, 0, 0)
    assert f.loc[arch0, "cifar10_test_12ep"] == pytest.approx(69.55)
    assert len(t.unjoined) == 0 and len(t.conflicts) == 0 and not t.notes


def test_nb101_epochs_are_separate_labels_and_duplicates_are_reported(shared_data):
    t = load_labels("nb101", shared_data)
    f = t.frame
    acc108, acc4 = f["cifar10_val_108ep"].dropna(), f["cifar10_test_4ep"].dropna()
    assert 70 < acc108.min() and acc108.max() < 95  # percent, 108 epochs
    assert 1 < acc4.max() <= 100 and acc4.min() >= 0  # EC-NAS fractions converted to percent
    info = label_info("nb101", "cifar10_test_4ep")
    assert info.epochs == 4 and "percent" in info.note and info.split == "test"
    assert label_info("nb101", "cifar10_val_108ep").epochs == 108
    # NASLib's 500 keys contain isomorphic (pruned-equal) cells; EC-NAS repeats 91 cells: reported, not dropped
    dup = t.unjoined[t.unjoined.reason.str.startswith("duplicate")]
    assert dup.groupby("file").size().to_dict() == {"nb101/ecnas_nb101_4ep.csv": 91,
                                                    "nb101/naslib_zc_nasbench101.json": 199}
    assert "not joined: 91 rows" in t.summary()


def test_transnas_reads_zip_without_unpickling(shared_data):
    t = load_labels("transnas_micro", shared_data)
    assert len(t.frame) == 4096
    assert t.frame["tb101_class_object_val"].notna().all()
    assert label_info("transnas_micro", "tb101_room_layout_val").metric == "negative_l2_loss"


def test_unknown_space_and_missing_or_malformed_files(tmp_path, shared_data):
    with pytest.raises(UnknownNameError, match="unknown search space 'nb999'"):
        load_labels("nb999", shared_data)
    with pytest.raises(DataError, match="naslib_zc_nasbench301.json is missing"):
        load_labels("nb301", tmp_path)
    (tmp_path / "nb301").mkdir()
    (tmp_path / "nb301" / "naslib_zc_nasbench301.json").write_text("{not json")
    with pytest.raises(DataError, match="malformed"):
        load_labels("nb301", tmp_path)


def test_rows_that_do_not_parse_are_reported(tmp_path, shared_data):
    """A corrupted key in a label table is listed in ``unjoined`` with the parser's reason."""
    shutil.copytree(shared_data / "nb201", tmp_path / "nb201")
    p = tmp_path / "nb201" / "nb201_hw_cifar10.csv"
    df = pd.read_csv(p)
    df.loc[3, "net"] = "(9, 9, 9, 0, 0, 0)"
    df.to_csv(p, index=False)
    t = load_labels("nb201", tmp_path)
    bad = t.unjoined[t.unjoined.file == "nb201/nb201_hw_cifar10.csv"]
    assert len(bad) == 1 and bad.key.iloc[0] == "(9, 9, 9, 0, 0, 0)" and "out of range" in bad.reason.iloc[0]
    assert t.frame["hw_edgegpu_latency"].notna().sum() == 15_624
    assert np.isfinite(t.frame["cifar10_test_200ep"]).all()


def test_unlabelled_arch_lists_parse(shared_data):
    from onnxnet.bench.labels import load_arch_list

    archs = load_arch_list("nb201", shared_data)
    assert len(archs) == 15_625 and archs[0].startswith("|")
    with pytest.raises(DataError, match="no architecture list for space 'transnas_micro'"):
        load_arch_list("transnas_micro", shared_data)
