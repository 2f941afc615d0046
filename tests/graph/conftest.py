"""Fixtures for the graph front-end tests (the models themselves live in graph_models.py)."""

from __future__ import annotations

import onnx
import pytest

from graph_models import conv_branch_model


@pytest.fixture
def branch_model() -> onnx.ModelProto:
    return conv_branch_model()
