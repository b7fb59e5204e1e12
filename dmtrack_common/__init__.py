"""The base layer: helpers every other package of the project may import.

- `dmtrack_common.boxes`: x, y, w, h <-> x1, y1, x2, y2 conversions and IoU (numpy and jnp),
  with the coordinate conventions stated;
- `dmtrack_common.frames`: reading frames (image files, encoded bytes, folders, videos) as
  uint8 RGB, and the one list of image suffixes;
- `dmtrack_common.fileio`: atomic writes of result files.

It imports nothing from the project (the import-linter contract in setup.cfg says so).
"""
