"""dmtrack-jax: DMTrack (CVPR 2021) in JAX/Flax."""

__version__ = "0.1.0"
