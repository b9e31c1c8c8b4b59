"""Errors a training step turns into a visible skip rather than a failed run, and the line of an error
that says what to fix."""


class CannotTrain(ValueError):
    """A model cannot be trained on this data or split (the message says why and what to change); its
    training asset skips it with that reason rather than failing the run."""


def root_message(text: str) -> str:
    """The line of an error that says what went wrong: its last line, leaving out dbt's macro call stack
    ('> in macro ...', '> called by ...') that follows a compilation error's message."""
    lines = [line.strip() for line in text.strip().splitlines() if line.strip() and not line.strip().startswith(">")]
    return (lines[-1] if lines else "failed")[:300]
