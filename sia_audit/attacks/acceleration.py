"""Opt-in torch.compile (and, on CUDA, CUDA graphs) for G and f, without touching the caller's.

`accelerate(generator, target, compile=True)` returns a generator whose `encode`/`decode` and a
target whose forward (adapter and model) are compiled by TorchInductor; the attack engine runs
them unchanged. The caller's modules are shared (same weights), never modified: the compiled
code is held by new wrapper objects. Inductor needs a C++ compiler on CPU (gcc/g++) and Triton
on CUDA; the first call for each batch shape pays for compilation (~1.5 min for the shipped
64 px AttGAN on this 2-core CPU with an empty cache), so this pays only on long runs
(docs/performance.md, section 6). `cuda_graphs=True` compiles with mode="reduce-overhead",
which records CUDA graphs: CUDA only, and it needs fixed batch shapes to pay.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, TypeVar, cast

import torch
from torch import Tensor, nn

from sia_audit.errors import UsageError
from sia_audit.generators.interface import Generator, Latent
from sia_audit.targets.contract import Target

_F = TypeVar("_F", bound=Callable[..., Any])


class CompileFn(Protocol):
    """Compiles a function into one with the same signature (torch.compile, set up)."""

    def __call__(self, fn: _F, /) -> _F: ...


class CompiledGenerator(nn.Module, Generator):
    """`inner` with compiled `encode` and `decode`; same attributes, weights and eval mode.

    Registered as a submodule so `.to(device)` and `.eval()` reach the weights; call
    `accelerate` after moving to the device (moving later only triggers a recompilation).
    """

    def __init__(self, inner: Generator, compile_fn: CompileFn) -> None:
        super().__init__()
        self.inner = inner
        self.attr_names = inner.attr_names
        self.image_size = inner.image_size
        self._encode = compile_fn(inner.encode)
        self._decode = compile_fn(inner.decode)
        self.train(getattr(inner, "training", False))

    def encode(self, x: Tensor) -> Latent:
        return tuple(self._encode(x))

    def decode(self, z: Latent, a: Tensor) -> Tensor:
        return self._decode(z, a)

    def forward(self, x: Tensor, a: Tensor) -> Tensor:
        return self.decode(self.encode(x), a)


class CompiledTarget(Target):
    """A Target over the same model and contract whose forward (adapt + model) is compiled."""

    def __init__(self, inner: Target, compile_fn: CompileFn) -> None:
        super().__init__(inner.model, inner.contract)
        self._compiled = compile_fn(super().forward)

    def forward(self, x: Tensor) -> Any:
        return self._compiled(x)


def _cloning(fn: _F) -> _F:
    """`fn` whose tensor outputs are copied out of the CUDA graph's memory pool.

    A replayed CUDA graph overwrites its previous outputs; the engine keeps some (the cached
    latent, the adversary it returns), so they must not live in the pool.
    """

    def wrapped(*args: Any) -> Any:
        out = fn(*args)
        if isinstance(out, tuple | list):
            return tuple(t.clone() for t in out)
        return out.clone()

    return cast(_F, wrapped)  # same arguments, and outputs of the same kind


def _device_of(module: object) -> torch.device | None:
    if isinstance(module, nn.Module):
        for tensor in (*module.parameters(), *module.buffers()):
            return tensor.device
    return None


def _compiler(cuda_graphs: bool, dynamic: bool | None) -> CompileFn:
    mode = "reduce-overhead" if cuda_graphs else "default"

    def compile_fn(fn: _F) -> _F:
        compiled = torch.compile(fn, mode=mode, dynamic=dynamic)
        return cast(_F, _cloning(compiled) if cuda_graphs else compiled)  # fn's signature

    return compile_fn


def accelerate(
    generator: Generator,
    target: Target,
    *,
    compile: bool,
    cuda_graphs: bool = False,
    dynamic: bool | None = None,
) -> tuple[Generator, Target]:
    """The generator and target to attack with: compiled when `compile`, else the same objects.

    `cuda_graphs` (needs `compile` and both models on a CUDA device) adds CUDA graph capture.
    `dynamic` is passed to torch.compile (None: recompile once for a new batch size, then
    generalise). Results match eager up to float reassociation (tests/attacks/
    test_acceleration.py); the caller's modules are shared and left as they were.
    """
    if not compile:
        if cuda_graphs:
            raise UsageError("cuda_graphs needs compile; turn on compile as well")
        return generator, target
    if cuda_graphs:
        devices = {_device_of(generator), _device_of(target)}
        if any(d is None or d.type != "cuda" for d in devices):
            raise UsageError(
                "cuda_graphs works on CUDA only; move the generator and target to a GPU "
                "first, or turn cuda_graphs off"
            )
    compile_fn = _compiler(cuda_graphs, dynamic)
    return CompiledGenerator(generator, compile_fn), CompiledTarget(target, compile_fn)
