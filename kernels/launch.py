"""How our Triton kernels are launched: compiled on CUDA, interpreted on CPU.

`triton.jit` decides between the compiler and the interpreter once, when the decorated
module is imported, by reading `TRITON_INTERPRET`. In a process where some other module
imported the kernels before the variable was set (a test session, a notebook), a plain
`@triton.jit` kernel would then try to compile for a GPU that is not there. `TritonKernel`
makes that choice at every launch instead: tensors on the CPU (or `TRITON_INTERPRET=1`)
run through the interpreter, CUDA tensors through the compiler.

Triton's own library functions (`tl.sum`, `tl.max`, `tl.sigmoid`, ...) are `@jit`
functions too, fixed as compiled or interpreted when triton itself was imported. During an
interpreted launch we let compiled-mode library functions run as interpreted device
functions (`_library_functions_interpretable`), so the interpreter works whatever the
import order was. Helpers that several of our kernels call are declared with
`device_function`: always a compiled-mode `JITFunction` (never fixed by the import order),
so a compiled kernel can call it, and during an interpreted launch the same bridge runs it
interpreted, as it does triton's library.
"""

from __future__ import annotations

import contextlib
import os
import threading
from typing import Any, Callable, Iterator

import torch
import triton
from triton.runtime import interpreter as triton_interpreter
from triton.runtime.interpreter import InterpretedFunction
from triton.runtime.jit import JITFunction

_TRUTHY = {"1", "true", "on", "yes"}

# Test hook: when set, scratch buffers start as NaN so a kernel that forgets to write
# (or reads what it never wrote) shows up as NaN in the result instead of passing by luck.
POISON_SCRATCH_ENV = "KERNELS_POISON_SCRATCH"


def interpreter_requested() -> bool:
    """True when `TRITON_INTERPRET` asks for the Triton interpreter (read at call time)."""
    return os.environ.get("TRITON_INTERPRET", "0").strip().lower() in _TRUTHY


def scratch(shape: tuple[int, ...], dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """An uninitialised work buffer; NaN-filled when `KERNELS_POISON_SCRATCH=1` (tests)."""
    if os.environ.get(POISON_SCRATCH_ENV, "0").strip().lower() in _TRUTHY:
        return torch.full(shape, float("nan"), dtype=dtype, device=device)
    return torch.empty(shape, dtype=dtype, device=device)


_bridge_lock = threading.RLock()


def _call_library_function_interpreted(jit_fn: JITFunction, *args: Any, **kwargs: Any) -> Any:
    # Mirrors InterpretedFunction.__call__ (a device-function call in interpreter mode),
    # but undoes its patches of triton.language afterwards.
    interpreted = InterpretedFunction(jit_fn.fn)
    patch_scope = triton_interpreter._patch_lang(jit_fn.fn)
    try:
        return interpreted.rewrite()(*args, **kwargs)
    finally:
        patch_scope.restore()


@contextlib.contextmanager
def _library_functions_interpretable() -> Iterator[None]:
    """While an interpreted kernel runs, calls to compiled-mode `@jit` functions are interpreted."""
    with _bridge_lock:
        original_call = JITFunction.__call__
        JITFunction.__call__ = _call_library_function_interpreted  # type: ignore[method-assign]
        try:
            yield
        finally:
            JITFunction.__call__ = original_call  # type: ignore[method-assign]


class TritonKernel:
    """A Triton kernel launched as `kernel[grid](*args, **meta)`, compiled or interpreted."""

    def __init__(self, fn: Callable[..., Any]) -> None:
        self.fn = fn
        self._compiled: JITFunction | None = None
        self._interpreted: InterpretedFunction | None = None

    @property
    def __name__(self) -> str:
        return self.fn.__name__

    def _interpret(self, args: tuple[Any, ...]) -> bool:
        on_cpu = any(isinstance(a, torch.Tensor) and a.device.type == "cpu" for a in args)
        return on_cpu or interpreter_requested()

    def __getitem__(self, grid: Any) -> Callable[..., Any]:
        def launch(*args: Any, **meta: Any) -> Any:
            if self._interpret(args):
                if self._interpreted is None:
                    self._interpreted = InterpretedFunction(self.fn)
                with _library_functions_interpretable():
                    return self._interpreted[grid](*args, **meta)
            if self._compiled is None:
                self._compiled = JITFunction(self.fn)
            return self._compiled[grid](*args, **meta)

        return launch


def triton_kernel(fn: Callable[..., Any]) -> TritonKernel:
    """Decorator used instead of `@triton.jit` for every kernel in this package."""
    return TritonKernel(fn)


def device_function(fn: Callable[..., Any]) -> JITFunction:
    """Decorator for a Triton helper called from inside our kernels (not launched itself)."""
    return JITFunction(fn)


def next_power_of_2(n: int) -> int:
    return triton.next_power_of_2(max(int(n), 1))


def cdiv(a: int, b: int) -> int:
    return (a + b - 1) // b
