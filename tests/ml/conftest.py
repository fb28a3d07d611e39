"""Small synthetic logs and tiny model settings shared by the ML tests."""
from __future__ import annotations

import pytest

from ml.synthetic import make_log

# tiny but real: every backbone learns for a couple of epochs/rounds
TINY = {
    "lstm": {"members": 1, "epochs": 2, "hidden": 16, "head_hidden": 16, "batch_size": 32, "aux_next": 0.5},
    "transformer": {"members": 1, "epochs": 2, "width": 16, "heads": 2, "layers": 1, "head_hidden": 16, "batch_size": 32},
    "gbm": {"max_rounds": 30, "early_stopping_rounds": 10, "min_data_in_leaf": 5},
}


@pytest.fixture(scope="session")
def small_log():
    return make_log(160, max_events=12, seed=7)
