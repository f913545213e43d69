"""synthfaces: the embedded default probe domain, a procedural face renderer with known edits."""

SIZES = (64, 128)  # the image sides it renders (here, apart from the torch-using renderer)
