"""Write docs/synthfaces.png, the renderer's contact sheet (seeded: the same file every run)."""

from __future__ import annotations

import sys
from pathlib import Path

from sia_audit.probes.synthfaces.contact_sheet import contact_sheet

if __name__ == "__main__":
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("docs/synthfaces.png")
    contact_sheet(seed=0).save(out, optimize=True)
    print(f"wrote {out}")
