"""Fixtures of the metrics tests."""

from __future__ import annotations

import pytest

from metrics_toydata import FakeData


@pytest.fixture
def fake_data() -> FakeData:
    return FakeData()


@pytest.fixture
def tiny_config():
    from ganas.metrics import ClassifierConfig

    return ClassifierConfig(width=8, feature_dim=16, epochs=4, batch_size=32, lr=1e-2, shift=0.05)
