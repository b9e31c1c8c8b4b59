"""The two-stage model (``windows`` -> ``features`` -> ``ranker``): candidate generators -> LightGBM LambdaRank.

Windows inside the train period keep it leak-free (L = label_days, S = the split):

- ranker training: for k = 2 .. n_train_windows + 1, generators and features from interactions before
  S - kL, labels from [S - kL, S - (k-1)L) (several weekly windows stacked: more label data);
- early stopping:  generators and features before S - L, labels from [S - L, S);
  (a per-user split such as leave_last_k: the validation holdouts instead, see ``per_user_windows``)
- test:            generators and features from the whole train window (before S), labels = test window.

Candidates per user are the union of each generator's top-N (popularity, item-item, ALS) with each
generator's score and rank as features, plus item, user and user x item features computed from the
same history. Counts that grow with the length of the history (popularity, item users, impressions,
user activity) are divided by it, and generator scores are divided by the user's best score, so
a ranker trained on shorter histories sees the same scale on the full train window. Exposure
features count how often an item was shown to the user (impressions without interaction).

Labels are binary (any interaction in the label window), the relevance the evaluation uses. The
ranker is boosted from the ALS ranking: ``init_score = -log2(1 + ALS rank)`` (LightGBM's init
score), so its trees learn corrections to the strongest generator instead of re-learning it from a
few thousand positives, and the same base is added at prediction time.
"""

from ml.two_stage.features import GENERATORS, REQUIRED_GENERATORS, Attributes, candidate_recall
from ml.two_stage.ranker import TwoStageParams, TwoStageScorer, ranker_frames, train_ranker, train_two_stage
from ml.two_stage.windows import Window, make_windows, per_user_windows, ranker_windows

__all__ = [
    "GENERATORS",
    "REQUIRED_GENERATORS",
    "Attributes",
    "TwoStageParams",
    "TwoStageScorer",
    "Window",
    "candidate_recall",
    "make_windows",
    "per_user_windows",
    "ranker_frames",
    "ranker_windows",
    "train_ranker",
    "train_two_stage",
]
