"""Shared test setup: offline Hugging Face, CPU only, deterministic seeds."""

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")

import pytest  # noqa: E402

from onnxnet.config import data_dir  # noqa: E402


@pytest.fixture(scope="session")
def shared_data():
    """The real label data in ../shared/data (present in CI and on developer machines)."""
    return data_dir()
