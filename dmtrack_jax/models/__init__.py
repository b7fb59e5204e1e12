"""Flax modules of DMTrack; every module is a pure function of its variables."""

from dmtrack_jax.models.dmtrack import (DMTrack, build_model, count_params, init_variables,
                                       with_winograd_kernels)

__all__ = ["DMTrack", "build_model", "count_params", "init_variables", "with_winograd_kernels"]
