"""devicekit.heap gives the heap a process freed back to the system (glibc's malloc_trim)."""

from __future__ import annotations

import subprocess
import sys

SCRIPT = """
import ctypes
from devicekit import heap

libc = ctypes.CDLL(None)
libc.malloc.restype = ctypes.c_void_p
libc.free.argtypes = [ctypes.c_void_p]

def rss():
    return next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmRSS")) // 1024

blocks = [libc.malloc(4000) for _ in range(40_000)]  # ~160 MiB of small blocks, on the heap (not mmap)
for block in blocks:
    ctypes.memset(block, 1, 4000)
keep = libc.malloc(4000)  # the heap's top stays in use, so free() alone cannot shrink it
for block in blocks:
    libc.free(block)
freed = rss()
print(heap.trim(), freed, rss())
"""


def test_trim_returns_freed_heap_to_the_system() -> None:
    done = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, check=True, timeout=30)
    trimmed, before, after = done.stdout.split()
    assert trimmed == "True"
    assert int(before) - int(after) >= 100, (before, after)  # MiB
