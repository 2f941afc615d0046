"""``onnxnet.inputs.as_rows``: every accepted form gives the same canonical row; each file is read once."""

from __future__ import annotations

import onnx
import pandas as pd
import pytest
import torch

from onnxnet.errors import ModelLoadError
from onnxnet.graph import export_torch
from onnxnet.inputs import ROW_COLUMNS, as_rows, metadata_value

SHAPE = (1, 3, 8, 8)


@pytest.fixture()
def net():
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.ReLU(), torch.nn.Conv2d(4, 2, 1))


def test_every_form_gives_the_same_row(net, tmp_path):
    model = export_torch(net, SHAPE)
    model.metadata_props.add(key="accuracy", value="91.5")
    path = tmp_path / "net.onnx"
    onnx.save(model, path)
    rows = as_rows([str(path), path.read_bytes(), model, net], input_shape=SHAPE)
    assert list(rows.columns) == list(ROW_COLUMNS) and len(rows) == 4
    assert rows["graph_hash"].nunique() == 1 and rows["n_params"].nunique() == 1
    assert rows["id"].tolist() == [str(path), "model1", "model2", "model3"]
    assert metadata_value(rows, "accuracy") == [91.5, 91.5, 91.5, None]  # the torch module has no metadata
    one = as_rows(net, input_shape=SHAPE)  # nn.Sequential is iterable, yet one network
    assert len(one) == 1 and one["graph_hash"][0] == rows["graph_hash"][0]


def test_store_rows_pass_through_and_a_single_row_becomes_a_frame(net):
    rows = as_rows(net, space="s", input_shape=SHAPE)
    assert as_rows(rows) is rows
    single = as_rows(rows.iloc[0])
    assert isinstance(single, pd.DataFrame) and single["graph_hash"].tolist() == rows["graph_hash"].tolist()


def test_each_file_is_read_once(net, tmp_path, monkeypatch):
    path = tmp_path / "net.onnx"
    onnx.save(export_torch(net, SHAPE), path)
    opened = []
    real_load = onnx.load

    def counting_load(f, *a, **k):
        opened.append(str(f))
        return real_load(f, *a, **k)

    monkeypatch.setattr(onnx, "load", counting_load)
    as_rows([str(path)])
    assert opened == [str(path)]


def test_bad_input_names_the_problem(net, tmp_path):
    with pytest.raises(ModelLoadError, match="missing.onnx: file not found"):
        as_rows([str(tmp_path / "missing.onnx")])
    with pytest.raises(ModelLoadError, match="needs input_shape"):
        as_rows(net)
    (tmp_path / "junk.onnx").write_bytes(b"not onnx")
    with pytest.raises(ModelLoadError, match="junk.onnx: not a valid ONNX file"):
        as_rows([str(tmp_path / "junk.onnx")])
