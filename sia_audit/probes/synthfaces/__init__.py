"""synthfaces: the embedded default probe domain, a procedural face renderer with known edits."""
