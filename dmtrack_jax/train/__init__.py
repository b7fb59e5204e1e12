"""Training: optimiser, sharded jitted steps, the resumable loop and the `dmtrack train` CLI."""
