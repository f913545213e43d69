"""Which processor ran an audit, as far as its arithmetic goes.

Two CPUs that torch dispatches to the same kernels (`cpu_capability`) can still round
differently: the demo control's audit on two AVX512 machines, both reporting "Intel(R) Xeon(R)
Processor", moved s by up to 0.011 (docs/figures-travel.md). The libraries under torch choose
their kernels by the instruction-set extensions the CPU lists, which a capability name does
not pin, so the processor is named by its vendor, family, model and stepping and a short digest
of the extensions it lists. On CUDA it is the device's name.
"""

from __future__ import annotations

import hashlib
import platform
from pathlib import Path

import torch

CPUINFO = Path("/proc/cpuinfo")


def cpu_identity(cpuinfo: str) -> str | None:
    """`vendor family/model/stepping flags:DIGEST` from /proc/cpuinfo's first processor; None
    when it names none of them."""
    fields: dict[str, str] = {}
    for line in cpuinfo.splitlines():
        if not line.strip():
            if fields:
                break  # the first processor's block is enough: they list the same
            continue
        key, _, value = line.partition(":")
        fields.setdefault(key.strip(), value.strip())
    flags = fields.get("flags") or fields.get("Features")  # x86, arm64
    parts = [fields.get(k) for k in ("vendor_id", "cpu family", "model", "stepping")]
    if flags is None and not any(parts):
        return None
    digest = hashlib.sha256(" ".join(sorted((flags or "").split())).encode()).hexdigest()[:12]
    vendor, family, model, stepping = (p or "?" for p in parts)
    return f"{vendor} {family}/{model}/{stepping} flags:{digest}"


def processor(device: torch.device) -> str:
    """The processor an audit on `device` ran its arithmetic on."""
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    try:
        found = cpu_identity(CPUINFO.read_text(errors="replace"))
    except OSError:
        found = None
    return found or f"{platform.machine()} {platform.processor()}".strip()
