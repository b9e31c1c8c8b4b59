"""The LightGBM LambdaRank ranker and the persisted two-stage scorer (see ``ml.two_stage``)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import lightgbm as lgb
import numpy as np
import pandas as pd

from ml import artifacts, threads
from ml.evaluation import metrics as M
from ml.feature_checks import contribution_importance
from ml.feature_sets import Feature, FeatureSet
from ml.hyperparams import param
from ml.recommenders import Scorer  # the package: every generator's loader
from ml.two_stage.features import Attributes, add_features, base_score, candidates, group_sizes, ranking_frame, stacked_frames
from ml.two_stage.windows import Window


@dataclass(frozen=True)
class TwoStageParams:
    """Hyperparameters of :func:`train_two_stage`."""

    n_candidates: int = param(50, "top-N taken from each generator (popularity, item_item, als, ease)")
    ease_candidates: bool = param(False, "add EASE's top-N to the candidates (tuning/two_stage chooses on validation)")
    label_days: int = param(7, "length of each label window inside the train period")
    n_train_windows: int = param(5, "weekly label windows stacked for ranker training")
    max_users_per_window: int = param(500, "users sampled (seeded) per training window; bounds the frames on large data")
    num_leaves: int = param(15, "LightGBM leaves per tree")
    min_child_samples: int = param(300, "LightGBM minimum examples per leaf")
    n_estimators: int = param(600, "maximum boosting rounds (early stopping on the validation window)")
    learning_rate: float = param(0.03, "LightGBM learning rate")
    seed: int = param(42, "LightGBM seed")


def train_ranker(train: pd.DataFrame, validation: pd.DataFrame, params: TwoStageParams, features: list[str]) -> lgb.LGBMRanker:
    """LambdaRank boosted from :func:`base_score`, early-stopped on the validation window's NDCG@10."""
    model = lgb.LGBMRanker(
        objective="lambdarank",
        n_estimators=params.n_estimators,
        learning_rate=params.learning_rate,
        num_leaves=params.num_leaves,
        min_child_samples=params.min_child_samples,
        reg_lambda=1.0,
        subsample=0.8,
        subsample_freq=1,
        colsample_bytree=0.8,
        random_state=params.seed,
        n_jobs=threads.budget(),
        deterministic=True,
        force_row_wise=True,
        verbose=-1,
    )
    model.fit(
        train[features],
        train["label"],
        group=group_sizes(train),
        init_score=base_score(train),
        eval_X=(validation[features],),
        eval_y=(validation["label"],),
        eval_group=[group_sizes(validation)],
        eval_init_score=[base_score(validation)],
        eval_at=[10],
        callbacks=[lgb.early_stopping(50, verbose=False)],
    )
    return model


WINDOW_MATRICES = ("history", "labels", "last_days", "impressions", "recent_impressions")


@artifacts.loader("two_stage")
class TwoStageScorer(Scorer):
    """Scores a user's candidates (the generators' union) with the LightGBM ranker plus the ALS base;
    everything else -inf. Persisted whole (generators, ranker, the serving window, item and user
    attributes), so ``ml.artifacts.load_model`` restores it like any other model."""

    name = "two_stage"

    def __init__(
        self,
        generators: dict[str, Scorer],
        ranker: lgb.Booster,
        window: Window,
        users: pd.DataFrame,
        items: pd.DataFrame,
        attributes: Attributes,
        n_candidates: int,
    ) -> None:
        self.generators, self.ranker, self.window, self.attributes = generators, ranker, window, attributes
        self.users, self.items = attributes.frames(users, items)
        self.n_candidates = n_candidates
        self.features = {"user_features": attributes.users, "item_features": attributes.items}
        self.n_users, self.n_items = window.history.shape

    def score_users(self, user_indices: np.ndarray) -> np.ndarray:
        cands = candidates(self.generators, self.window.history, np.asarray(user_indices), self.n_candidates)
        scores = np.full((len(user_indices), self.n_items), -np.inf, dtype=np.float32)
        if cands.empty:  # every user has seen every item the generators could propose; LightGBM rejects 0 rows
            return scores
        frame = add_features(cands, self.window, self.users, self.items, self.attributes)
        row = pd.Index(np.asarray(user_indices)).get_indexer(frame["user"])
        scores[row, frame["item"].to_numpy()] = self.ranker.predict(frame[self.ranker.feature_name()]) + base_score(frame)
        return scores

    def save(self, directory: str | Path) -> Path:
        w = self.window
        directory = artifacts.write_params(
            directory,
            self.name,
            {"n_candidates": self.n_candidates},
            features={mart: fs.to_dict() for mart, fs in self.features.items()},
            cutoff=w.cutoff.isoformat(),
            history_days=w.history_days,
            generators=sorted(self.generators),
        )
        for name, generator in self.generators.items():
            generator.save(directory / "generators" / name)  # type: ignore[attr-defined]
        self.ranker.save_model(str(directory / "ranker.txt"))
        arrays = {}
        for name in WINDOW_MATRICES:
            arrays.update(artifacts.sparse_to_arrays(name, getattr(w, name)))
        artifacts.write_arrays(directory / "arrays.npz", arrays)
        self.users.to_parquet(directory / "users.parquet", index=False)
        self.items.to_parquet(directory / "items.parquet", index=False)
        return directory

    @classmethod
    def load(cls, directory: str | Path) -> TwoStageScorer:
        directory = Path(directory)
        meta = artifacts.read_params(directory, cls.name)
        arrays = artifacts.read_arrays(directory / "arrays.npz")
        window = Window(
            **{name: artifacts.sparse_from_arrays(name, arrays) for name in WINDOW_MATRICES},
            cutoff=pd.Timestamp(meta["cutoff"]),
            history_days=meta["history_days"],
        )
        generators = {}
        for name in meta["generators"]:
            generator = artifacts.load_model(directory / "generators" / name)
            if not isinstance(generator, Scorer):
                raise ValueError(f"{directory}/generators/{name} is not a ranking model")
            generators[name] = generator
        return cls(
            generators,
            lgb.Booster(model_file=str(directory / "ranker.txt")),
            window,
            pd.read_parquet(directory / "users.parquet"),
            pd.read_parquet(directory / "items.parquet"),
            Attributes(*(FeatureSet.from_dict(meta["features"][mart]) for mart in ("user_features", "item_features"))),
            **meta["params"],
        )


def ranker_frames(data, windows, params: TwoStageParams, attrs: Attributes) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Candidate/feature/label frames of the stacked training windows and of the early-stopping window."""
    train_windows, val_window, _ = windows
    users, items = attrs.frames(data.users, data.items)
    common = {"max_users": params.max_users_per_window, "seed": params.seed, "ease": params.ease_candidates}
    train = stacked_frames(train_windows, users, items, attrs, params.n_candidates, **common)  # type: ignore[arg-type]
    val, _ = ranking_frame(val_window, users, items, attrs, params.n_candidates, **common)  # type: ignore[arg-type]
    return train, val


def validation_ndcg(ranker: lgb.LGBMRanker, val: pd.DataFrame, window: Window, k: int = 10) -> float:
    """Mean of :func:`validation_ndcg_users`."""
    return float(validation_ndcg_users(ranker, val, window, k).mean())


def validation_ndcg_users(ranker: lgb.LGBMRanker, val: pd.DataFrame, window: Window, k: int = 10) -> pd.Series:
    """NDCG@k per user of the ranked candidate lists against every item of the validation window the
    user had not interacted with before (not only those among the candidates): comparable across
    candidate sets."""
    scored = val.assign(score=ranker.predict(val[ranker.feature_name_]) + base_score(val))
    top = scored.sort_values(["user", "score"], ascending=[True, False], kind="stable").groupby("user").head(k)
    users = np.sort(scored["user"].unique())
    labels = (window.labels > 0).astype(np.float32)
    relevant = labels - labels.multiply(window.history > 0)
    relevant.eliminate_zeros()
    n_rel = np.diff(relevant.indptr)[users]
    hits = np.zeros((len(users), k), dtype=bool)
    rows = np.searchsorted(users, top["user"].to_numpy())
    ranks = top.groupby("user").cumcount().to_numpy()
    hits[rows, ranks] = top["label"].to_numpy() > 0
    keep = n_rel > 0
    return pd.Series(M.ndcg_at_k(hits, n_rel, k)[keep], index=users[keep])


def train_two_stage(
    data, windows, generators: dict[str, Scorer], params: TwoStageParams, attrs: Attributes
) -> tuple[TwoStageScorer, dict]:
    """Train the ranker on the windows inside the train period and assemble the two-stage model that
    serves on the full train window with the given (published) generators. Returns it and a summary."""
    train, val = ranker_frames(data, windows, params, attrs)
    ranker = train_ranker(train, val, params, attrs.features)
    generators = {n: g for n, g in generators.items() if n != "ease" or params.ease_candidates}
    ranked_features = FeatureSet(
        "two_stage", tuple(Feature(n, "numeric", group) for group, names in attrs.groups().items() for n in names)
    )
    importance = contribution_importance(ranker.booster_, val[attrs.features], ranked_features)
    per_user = validation_ndcg_users(ranker, val, windows[1])
    model = TwoStageScorer(generators, ranker.booster_, windows[2], data.users, data.items, attrs, params.n_candidates)
    info = {
        "best_iteration": int(ranker.best_iteration_),
        "train_rows": len(train),
        "train_positives": int((train["label"] > 0).sum()),
        "validation_rows": len(val),
        "validation_ndcg@10": float(per_user.mean()),
        "validation_users": per_user,  # NDCG@10 per user of the early-stopping window (the feature verdict pairs them)
        "feature_importance": importance,
        "params": asdict(params),
    }
    return model, info
