"""Errors a training step turns into a visible skip rather than a failed run."""


class CannotTrain(ValueError):
    """A model cannot be trained on this data or split (the message says why and what to change); its
    training asset skips it with that reason rather than failing the run."""
