"""What the service receives and serves, kept for the way back into the warehouse (``ml.live.log``)."""
