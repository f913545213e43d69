"""Use cases: what each command does (run, generate, check-onnx), without the CLI.

The commands in `sia_audit.commands` parse options, call one of these, print and exit; tests,
benchmarks and examples call them directly.
"""
