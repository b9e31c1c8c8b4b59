"""What a ``recsys-pipeline`` run is told on its command line: dbt vars and Dagster run config (YAML or
JSON mappings), laid over the run's own config."""

import json

import yaml


def parse_mapping(option: str, text: str, example: str) -> dict:
    """``text`` (YAML or JSON) as a mapping, or exit naming ``option`` and an example."""
    try:
        value = yaml.safe_load(text) if text.strip() else {}
    except yaml.YAMLError as exc:
        raise SystemExit(f"{option} is not valid YAML/JSON: {exc}") from None
    if not isinstance(value, dict):
        raise SystemExit(f"{option} must be a mapping such as '{example}', got {text!r}")
    return value


def parse_vars(text: str) -> str:
    """Validate ``--vars`` (YAML or JSON, a mapping) and return it as JSON for dbt."""
    value = parse_mapping("--vars", text, "{test_days: 14}")
    return json.dumps(value) if value else ""


def merged(base: dict, extra: dict) -> dict:
    """``base`` with ``extra`` laid over it, nested mappings merged key by key."""
    out = dict(base)
    for key, value in extra.items():
        out[key] = merged(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out
