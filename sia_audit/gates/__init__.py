"""The policy's gates: thresholds on one audit's figures, and regressions against a baseline."""
