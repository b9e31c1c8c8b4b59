"""The generator's configuration and vocabularies."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from ml import settings

# the event types the generator emits: the funnel every impression runs down (the dbt var event_weights
# must name them, a test checks it)
FUNNEL = ("impression", "view", "click", "add_to_cart", "purchase")

CATEGORIES = (
    "electronics",
    "books",
    "fashion",
    "home",
    "sports",
    "beauty",
    "toys",
    "grocery",
    "garden",
    "music",
    "games",
    "auto",
)
# words of plausible item titles per category: (descriptors, product nouns); titles are
# "<descriptor> <noun>[ <edition>]", drawn from their own random stream (ml.synthetic.generator.titles)
TITLE_WORDS = {
    "electronics": (
        ("Wireless", "Bluetooth", "Portable", "Smart", "Noise-Cancelling", "USB-C", "4K", "Compact"),
        ("Headphones", "Speaker", "Charger", "Monitor", "Keyboard", "Camera", "Earbuds", "Power Bank"),
    ),
    "books": (
        ("The Silent", "A Brief History of the", "The Last", "Midnight", "The Hidden", "Northern", "The Little"),
        ("Harbor", "Garden", "Kingdom", "Detective", "Cookbook", "Atlas", "River", "Letters"),
    ),
    "fashion": (
        ("Linen", "Denim", "Wool", "Leather", "Cotton", "Slim-Fit", "Oversized", "Vintage"),
        ("Jacket", "Shirt", "Jeans", "Sneakers", "Scarf", "Dress", "Boots", "Hoodie"),
    ),
    "home": (
        ("Ceramic", "Bamboo", "Stainless Steel", "Cast Iron", "Glass", "Scented", "Non-Stick", "Oak"),
        ("Frying Pan", "Lamp", "Vase", "Candle", "Cutting Board", "Kettle", "Shelf", "Towel Set"),
    ),
    "sports": (
        ("Running", "Yoga", "Trail", "Cycling", "Adjustable", "Waterproof", "Lightweight", "Training"),
        ("Shoes", "Mat", "Backpack", "Helmet", "Dumbbells", "Water Bottle", "Gloves", "Tent"),
    ),
    "beauty": (
        ("Hydrating", "Vitamin C", "Matte", "Organic", "Gentle", "Night", "Mineral", "Rose"),
        ("Face Cream", "Serum", "Lipstick", "Shampoo", "Sunscreen", "Cleanser", "Perfume", "Mascara"),
    ),
    "toys": (
        ("Wooden", "Magnetic", "Remote Control", "Plush", "Educational", "Musical", "Giant", "Pocket"),
        ("Building Blocks", "Train Set", "Puzzle", "Teddy Bear", "Race Car", "Dinosaur", "Doll House", "Robot"),
    ),
    "grocery": (
        ("Organic", "Dark Roast", "Extra Virgin", "Wholegrain", "Spicy", "Unsalted", "Wildflower", "Green"),
        ("Coffee Beans", "Olive Oil", "Pasta", "Honey", "Tea", "Almonds", "Granola", "Hot Sauce"),
    ),
    "garden": (
        ("Solar", "Folding", "Cordless", "Heavy-Duty", "Self-Watering", "Hanging", "Raised", "Ergonomic"),
        ("Lights", "Chair", "Hedge Trimmer", "Hose", "Planter", "Bird Feeder", "Garden Bed", "Pruning Shears"),
    ),
    "music": (
        ("Acoustic", "Electric", "Classical", "Jazz", "Live", "Vinyl", "Greatest", "Digital"),
        ("Guitar", "Ukulele", "Piano", "Drum Pad", "Album", "Hits", "Microphone", "Violin"),
    ),
    "games": (
        ("Strategy", "Co-op", "Family", "Retro", "Fantasy", "Space", "Party", "Puzzle"),
        ("Board Game", "Card Game", "Adventure", "Racing Game", "Controller", "Dice Set", "RPG", "Quiz"),
    ),
    "auto": (
        ("Car", "Heated", "All-Weather", "Magnetic", "LED", "Portable", "Digital", "Leather"),
        ("Seat Covers", "Floor Mats", "Phone Mount", "Jump Starter", "Tyre Inflator", "Dash Cam", "Wiper Blades", "Headlights"),
    ),
}
TITLE_EDITIONS = ("", "", "", "Pro", "Mini", "Plus", "XL", "2", "Deluxe", "Classic")
COUNTRIES = ("US", "DE", "FR", "GB", "BR", "IN", "JP", "ES")
COUNTRY_P = (0.30, 0.14, 0.10, 0.12, 0.10, 0.12, 0.07, 0.05)
SEGMENTS = ("budget", "mainstream", "premium")
SEGMENT_PRICE_PREF = (-0.6, 0.0, 0.6)
AGE_BANDS = ("18-24", "25-34", "35-44", "45-54", "55+")
# share of sessions starting in each hour of the day: night trough, lunch bump, evening peak
HOUR_PROFILE = np.array([1, 0.6, 0.4, 0.3, 0.3, 0.5, 1, 2, 3, 3.5, 3.5, 4, 5, 4.5, 4, 4, 4.5, 5, 6, 7.5, 8, 7, 5, 2.5])
WEEKEND_BOOST = 1.3
SEEDS_DIR = settings.DBT_PROJECT_DIR / "seeds"
SAMPLE_GROUND_TRUTH = settings.ROOT / "data" / "sample" / "ground_truth.npz"


@dataclass(frozen=True)
class SyntheticConfig:
    """Scale and shape of a synthetic dataset. The defaults give the committed sample."""

    n_users: int = 1500
    n_items: int = 1000
    n_days: int = 60
    start_date: str = "2026-01-01"
    seed: int = 42
    n_factors: int = 8
    sessions_per_user_day: float = 0.09
    impressions_per_session: int = 8
    personalised_exposure: float = 0.5
    new_item_share: float = 0.2
    new_user_share: float = 0.15
    zipf_exponent: float = 1.0
    dirty_share: float = 0.0
    # order (ml.ingest.synthetic.order): each item has a successor in its category; a session shows
    # the successor of its previous impression with this probability, and an item is liked this much
    # more (affinity) right after the user viewed its predecessor. 0: no order (the committed sample)
    transition_share: float = 0.0
    transition_boost: float = 1.5

    @classmethod
    def for_events(cls, n_events: int, **overrides) -> SyntheticConfig:
        """A configuration sized to produce roughly ``n_events`` events (more users, same behaviour)."""
        base = cls(**overrides)
        # measured: about 2.15 events per impression slot at scale (funnel events included, late signups excluded)
        per_user = 2.15 * base.n_days * base.sessions_per_user_day * base.impressions_per_session
        n_users = overrides.get("n_users") or max(1000, int(n_events / per_user))
        n_items = overrides.get("n_items") or max(1000, n_users // 10)
        return dataclasses.replace(base, n_users=n_users, n_items=n_items)
