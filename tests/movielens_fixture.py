"""A tiny dataset written in MovieLens 100k's published layout (u.data, u.item, u.user), made here:
users like one genre, so collaborative models have something to find; ratings from 1997-98."""

from pathlib import Path

import numpy as np

from ml.ingest.importers.movielens import ML100K_GENRES

GENRES = ["Action", "Comedy", "Drama"]


def write_ml100k(directory: Path, n_users: int = 60, n_items: int = 45, per_user: int = 30, seed: int = 7) -> Path:
    rng = np.random.default_rng(seed)
    directory.mkdir(parents=True, exist_ok=True)
    genre_of = np.arange(n_items) % len(GENRES)
    lines = []
    for i in range(n_items):
        flags = ["1" if ML100K_GENRES[j] == GENRES[genre_of[i]] else "0" for j in range(len(ML100K_GENRES))]
        release = "" if i == 5 else f"{1 + i % 28:02d}-Jan-{1990 + i % 7}"  # one movie without a date
        lines.append("|".join([str(i + 1), f"Movie {i + 1} (199{i % 7})", release, "", "http://x", *flags]))
    (directory / "u.item").write_text("\n".join(lines) + "\n", encoding="latin-1")
    occupations = ["student", "engineer", "artist"]
    users = [f"{u + 1}|{18 + (u * 7) % 50}|{'MF'[u % 2]}|{occupations[u % 3]}|0{u:04d}" for u in range(n_users)]
    (directory / "u.user").write_text("\n".join(users) + "\n")
    start = 875_000_000  # 1997-09-23
    rows = []
    for u in range(n_users):
        liked = u % len(GENRES)
        p = np.where(genre_of == liked, 6.0, 1.0) * (1 + 0.3 * rng.random(n_items))
        items = rng.choice(n_items, per_user, replace=False, p=p / p.sum())
        times = np.sort(rng.integers(start, start + 120 * 86_400, per_user))
        for i, t in zip(items, times, strict=True):
            rating = int(np.clip(rng.normal(4.3 if genre_of[i] == liked else 2.3, 0.8), 1, 5).round())
            rows.append(f"{u + 1}\t{i + 1}\t{rating}\t{t}")
    (directory / "u.data").write_text("\n".join(rows) + "\n")
    return directory
