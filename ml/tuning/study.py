"""One tuning study: trial 0 = the defaults, then the sampler (or a grid), every trial's per-user
validation scores kept, and the choice cross-fitted: its gain estimated on users it was not chosen on
(``ml.evaluation.selection``)."""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import optuna
import pandas as pd

from ml.evaluation import selection
from ml.tuning.spaces import EPOCH_TUNED, GRIDS, SPACES, changed, default_params

optuna.logging.set_verbosity(optuna.logging.WARNING)


@dataclass
class TuningResult:
    model: str
    params: dict[str, Any]  # every hyperparameter: the defaults with the chosen values
    value: float  # validation NDCG@10 of the chosen parameters (all validation users)
    default_value: float  # ... and of the hand-picked defaults (trial 0)
    trials: pd.DataFrame  # one row per trial: number, the searched parameters, values, seconds
    seconds: float
    selection: selection.Selection  # the best trial, adopted if its cross-fitted gain is significant
    stability: pd.DataFrame  # each cross-fitting draw: the folds' choices and gains (selection.stability_frame)
    scores: pd.DataFrame  # per-user validation NDCG@10 (rows: user ids) of every trial (columns: numbers)
    sample: str = "all the data"  # what the trials were fit and scored on

    @property
    def adopted(self) -> bool:
        return self.selection.confirmed

    @property
    def decision(self) -> str:
        return self.selection.decision()

    def params_of(self, trial: int) -> dict[str, Any]:
        """Every hyperparameter of trial ``trial``: the defaults with its searched (and recorded) values."""
        defaults = default_params(self.model)
        (row,) = self.trials[self.trials["trial"] == trial].to_dict("records")  # native types, column by column
        return {**defaults, **{k: v for k, v in row.items() if k in defaults}}

    @property
    def tuned(self) -> dict[str, Any]:
        """Only the parameters that differ from the defaults."""
        return changed(self.model, self.params)


STARTUP_TRIALS = 10  # TPE draws this many trials at random (Optuna's default) before it models the others


def study(seed: int) -> optuna.Study:
    sampler = optuna.samplers.TPESampler(seed=seed, n_startup_trials=STARTUP_TRIALS)
    return optuna.create_study(direction="maximize", sampler=sampler)


def optimize(
    s: optuna.Study,
    objective: Callable[[optuna.Trial], float],
    n_trials: int,
    lanes: int,
    propose: Callable[[optuna.Trial], object] | None = None,
) -> None:
    """``s.optimize(objective, n_trials)``, with the trials that do not depend on earlier results (the
    enqueued ones and TPE's random start) run ``lanes`` at a time in threads. They are asked and given
    their parameters (``propose``: every ``suggest`` the objective makes, which then returns the same
    values) in order before any runs, so each gets the parameters it gets one at a time (suggested in
    the threads, they would draw from the sampler's one generator in whatever order the threads reach
    it), and told in order: the study, and so the choice, is the same as sequential. Only for objectives
    that are thread-safe and seeded on their own (not torch's global generator)."""
    ahead = min(n_trials, STARTUP_TRIALS) if lanes > 1 else 0
    if ahead > 1:
        trials = [s.ask() for _ in range(ahead)]
        if propose is not None:
            for trial in trials:
                propose(trial)
        with ThreadPoolExecutor(lanes) as pool:
            futures = [pool.submit(objective, trial) for trial in trials]
            for trial, future in zip(trials, futures, strict=True):
                try:
                    value = future.result()
                except BaseException:
                    for pending in futures:
                        pending.cancel()
                    s.tell(trial, state=optuna.trial.TrialState.FAIL)
                    raise
                s.tell(trial, value)
        n_trials -= ahead
    if n_trials > 0:
        s.optimize(objective, n_trials=n_trials)


def run_study(
    name: str, objective: Callable[[dict[str, Any], optuna.Trial], pd.Series], n_trials: int, seed: int, log=None, lanes: int = 1
) -> TuningResult:
    """Trial 0 = the defaults (restricted to the searched names), then TPE (or the whole grid, for the
    models in ``GRIDS``); ``objective(params, trial)`` returns the validation NDCG@10 per user (by user
    id) and may record chosen values in ``trial.user_attrs['params']``. The best trial is adopted only
    when choosing it gains significantly on users it was not chosen on (``ml.evaluation.selection``).
    ``lanes`` > 1 runs the independent trials that many at a time (:func:`optimize`)."""
    if n_trials < 1:
        raise ValueError(f"n_trials must be at least 1 (trial 0 scores the defaults), got {n_trials}")
    defaults = default_params(name)
    searched = list(SPACES[name])
    s = study(seed)
    first = {k: defaults[k] for k in searched}
    s.enqueue_trial(first)
    grid = GRIDS.get(name, {})
    points = [dict(zip(grid, point, strict=True)) for point in itertools.product(*grid.values())] if grid else []
    for point in points:
        if point != first:
            s.enqueue_trial(point)
    if points:  # the grid's points, in order, at most once each
        n_trials = min(n_trials, len(points))
    t0 = time.perf_counter()
    scores: dict[int, pd.Series] = {}  # every trial's per-user values, for the cross-fitted choice

    def proposed(trial: optuna.Trial) -> dict[str, Any]:
        return {**defaults, **{p: suggest(trial, p) for p, suggest in SPACES[name].items()}}

    def wrapped(trial: optuna.Trial) -> float:
        started = time.perf_counter()
        params = proposed(trial)
        scores[trial.number] = objective(params, trial)
        value = float(scores[trial.number].mean()) if len(scores[trial.number]) else float("nan")
        trial.set_user_attr("seconds", time.perf_counter() - started)
        trial.set_user_attr("params", {**params, **trial.user_attrs.get("params", {})})
        if log:
            log(f"tuning {name} trial {trial.number + 1}/{n_trials}: validation ndcg@10 {value:.4f}")
        return value

    optimize(s, wrapped, n_trials, lanes, proposed)
    done = s.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))  # not the grid's unrun points
    frame = pd.DataFrame({n: scores[n] for n in sorted(scores)})  # by trial number, however they finished
    chosen_by = selection.select(frame, seed)
    params_of = {t.number: changed(name, t.user_attrs["params"]) for t in done}
    rows = [
        {"trial": t.number, **t.user_attrs["params"], "validation_ndcg@10": t.value, "seconds": t.user_attrs["seconds"]}
        for t in done
    ]
    keep = ["trial", *searched, *(["epochs"] if name in EPOCH_TUNED else []), "validation_ndcg@10", "seconds"]
    chosen = chosen_by.chosen
    return TuningResult(
        model=name,
        params=done[chosen].user_attrs["params"],
        value=float(frame[chosen].mean()),
        default_value=float(frame[0].mean()),
        trials=pd.DataFrame(rows)[keep],
        seconds=time.perf_counter() - t0,
        selection=chosen_by,
        stability=selection.stability_frame(chosen_by, params_of),
        scores=frame,
    )
