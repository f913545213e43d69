"""`python -m sia_audit ...`, the form `torchrun --nproc_per_node N -m sia_audit run ...` needs."""

from sia_audit.cli import main

main()
