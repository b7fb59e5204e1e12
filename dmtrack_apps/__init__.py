"""The top layer: every entry point of dmtrack-jax.

The `dmtrack` subcommands (`synth`, `train`, `track`, `eval`, `convert`, `demo`), the wiring of
data into training (`train`) and of trackers into evaluation (`evaluate`, `synthetic_eval`).
Only this package may import every other one; the library packages below it (`configs`,
`eval`, `data_pipelines`, `dmtrack_jax`) and the base `dmtrack_common` never import it (the
import-linter contract in setup.cfg).
"""
