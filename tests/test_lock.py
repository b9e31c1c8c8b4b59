"""requirements.lock pins every dependency pyproject.toml names, within the range pyproject allows: a
dependency added or re-ranged without re-locking fails here, not on a user's machine."""

import tomllib

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from ml.settings import ROOT


def locked() -> dict[str, Version]:
    pins = {}
    for line in (ROOT / "requirements.lock").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, version = line.split("==")
            pins[canonicalize_name(name)] = Version(version)
    return pins


def test_every_dependency_is_locked_within_its_range():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = [*project["dependencies"], *(r for extra in project["optional-dependencies"].values() for r in extra)]
    pins = locked()
    checked = 0
    for text in wanted:
        req = Requirement(text)
        if canonicalize_name(req.name) == canonicalize_name(project["name"]) or (req.marker and not req.marker.evaluate()):
            continue  # the project's own extras are listed above; a marker that excludes this machine
        name = canonicalize_name(req.name)
        assert name in pins, f"{req.name} is not in requirements.lock: re-lock (see its header)"
        assert req.specifier.contains(pins[name], prereleases=True), f"{req.name} {pins[name]} is outside {req.specifier}"
        checked += 1
    assert checked >= 30 and pins[canonicalize_name("torch")] == Version("2.13.0+cpu")
