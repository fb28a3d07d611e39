"""LightGBM on aggregated prefix features (the ``agg`` row of each prefix's last event)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ml.dataset import PrefixSet
from ml.models.base import IntentModel, Progress


def prefix_matrix(prefixes: PrefixSet) -> np.ndarray:
    return prefixes.data.agg[prefixes.event_rows()]


class GBMModel(IntentModel):
    backbone = "gbm"
    defaults = {
        "learning_rate": 0.03,
        "num_leaves": 31,
        "min_data_in_leaf": 50,
        "feature_fraction": 0.8,
        "bagging_fraction": 0.8,
        "lambda_l2": 1.0,
        "max_rounds": 1500,
        "early_stopping_rounds": 100,
        "num_threads": 2,
    }
    WEIGHTS = "model.lgb.txt"

    def __init__(self, spec, **params: Any):
        super().__init__(spec, **params)
        self.booster = None
        self._num_iteration: int | None = None

    def _lgb_params(self, seed: int) -> dict[str, Any]:
        p = self.params
        return {
            "objective": "binary",
            "learning_rate": p["learning_rate"],
            "num_leaves": p["num_leaves"],
            "min_data_in_leaf": p["min_data_in_leaf"],
            "feature_fraction": p["feature_fraction"],
            "bagging_fraction": p["bagging_fraction"],
            "bagging_freq": 1,
            "lambda_l2": p["lambda_l2"],
            "num_threads": p["num_threads"],
            "seed": seed,
            "deterministic": True,
            "force_row_wise": True,
            "verbosity": -1,
        }

    def _fit(self, train: PrefixSet, valid: PrefixSet | None, seed: int, progress: Progress) -> None:
        import lightgbm as lgb

        # positional names: activity names may hold characters LightGBM rejects (the spec keeps the real ones)
        names = [f"f{i}" for i in range(len(self.spec.agg_columns))]
        categorical = [names[i] for i in self.spec.agg_categorical_index]
        dtrain = lgb.Dataset(
            prefix_matrix(train), train.y, feature_name=names, categorical_feature=categorical, free_raw_data=False
        )
        callbacks = [lambda env: progress("gbm", (env.iteration + 1) / env.end_iteration)]
        valid_sets = []
        if valid is not None and len(valid):
            valid_sets = [lgb.Dataset(prefix_matrix(valid), valid.y, reference=dtrain)]
            callbacks.append(lgb.early_stopping(self.params["early_stopping_rounds"], verbose=False))
        self.booster = lgb.train(
            self._lgb_params(seed),
            dtrain,
            num_boost_round=self.params["max_rounds"],
            valid_sets=valid_sets,
            callbacks=callbacks,
        )
        self._num_iteration = int(self.booster.best_iteration or self.booster.current_iteration())
        self.fit_info = {"best_iteration": self._num_iteration}

    def _refit(self, final: PrefixSet, seed: int, progress: Progress) -> None:
        import lightgbm as lgb

        names = [f"f{i}" for i in range(len(self.spec.agg_columns))]
        categorical = [names[i] for i in self.spec.agg_categorical_index]
        dfinal = lgb.Dataset(prefix_matrix(final), final.y, feature_name=names, categorical_feature=categorical)
        rounds = self._num_iteration or self.params["max_rounds"]
        self.booster = lgb.train(
            self._lgb_params(seed),
            dfinal,
            num_boost_round=rounds,
            callbacks=[lambda env: progress("gbm", (env.iteration + 1) / env.end_iteration)],
        )
        self._num_iteration = rounds

    def decision_function(self, prefixes: PrefixSet) -> np.ndarray:
        if self.booster is None:
            raise RuntimeError("model is not fitted")
        return self.booster.predict(prefix_matrix(prefixes), raw_score=True, num_iteration=self._num_iteration)

    def score_last(self, encoded) -> np.ndarray:
        if self.booster is None:
            raise RuntimeError("model is not fitted")
        return self.booster.predict(encoded.last_agg(), raw_score=True, num_iteration=self._num_iteration)

    def _save_weights(self, folder: Path) -> list[str]:
        self.booster.save_model(str(folder / self.WEIGHTS), num_iteration=self._num_iteration)
        return [self.WEIGHTS]

    def _load_weights(self, folder: Path, manifest: dict[str, Any]) -> None:
        import lightgbm as lgb

        self.booster = lgb.Booster(model_file=str(folder / self.WEIGHTS))
        self._num_iteration = None  # the file holds exactly the trees that were kept

