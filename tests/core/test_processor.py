"""The processor a report names: what tells two machines' arithmetic apart."""

from __future__ import annotations

import torch

from sia_audit.audit import processor as module
from sia_audit.audit.processor import cpu_identity, processor

X86 = """processor\t: 0
vendor_id\t: GenuineIntel
cpu family\t: 6
model\t\t: 167
model name\t: Intel(R) Xeon(R) Processor
stepping\t: 1
flags\t\t: fpu sse2 avx2 avx512f avx512_vnni

processor\t: 1
vendor_id\t: GenuineIntel
cpu family\t: 6
model\t\t: 167
stepping\t: 1
flags\t\t: fpu sse2 avx2 avx512f avx512_vnni
"""


def test_two_cpus_with_one_name_but_other_extensions_differ() -> None:
    one = cpu_identity(X86)
    assert one is not None and one.startswith("GenuineIntel 6/167/1 flags:")
    # another host with the same model name that also lists AMX
    other = cpu_identity(X86.replace("avx512_vnni", "avx512_vnni amx_tile"))
    assert other is not None and other != one
    # the order the extensions are listed in does not matter
    assert cpu_identity(X86.replace("fpu sse2", "sse2 fpu")) == one
    assert cpu_identity(X86.replace("model\t\t: 167", "model\t\t: 143")) != one


def test_an_arm_cpu_is_named_by_its_features_and_nothing_named_gives_none() -> None:
    arm = "processor\t: 0\nBogoMIPS\t: 50.00\nFeatures\t: fp asimd sve\nCPU implementer\t: 0x41\n"
    named = cpu_identity(arm)
    assert named is not None and named.startswith("? ?/?/? flags:")
    assert named != cpu_identity(arm.replace(" sve", ""))
    assert cpu_identity("") is None and cpu_identity("BogoMIPS : 1\n") is None


def test_without_a_cpuinfo_the_platform_names_the_machine(monkeypatch, tmp_path) -> None:
    monkeypatch.setattr(module, "CPUINFO", tmp_path / "missing")
    assert processor(torch.device("cpu")).strip() != ""
    monkeypatch.setattr(module, "CPUINFO", tmp_path / "cpuinfo")
    (tmp_path / "cpuinfo").write_text(X86)
    assert processor(torch.device("cpu")) == cpu_identity(X86)
