"""Online tracking: the jitted network step (network.py) and the host-side association."""
