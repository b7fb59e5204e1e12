"""Per-image array ops (vmapped by callers): DCNv2, RoIAlign, correlations, boxes."""
