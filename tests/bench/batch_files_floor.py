#!/usr/bin/env python3
"""The batch benchmark's second floor: writing files of the sizes a run wrote, durably.

    batch_files_floor.py OUTBOX SCRATCH

For every file under OUTBOX (the run's data files, vouchers and signatures), writes a file of
the same size (zeros) at the same relative path under SCRATCH; then one syncfs() of SCRATCH's
file system makes them all durable (as a run's write waves do), folders included. Prints the
files, the bytes and the wall-clock seconds it took, tab-separated, and removes SCRATCH. What
this takes is what the number of files costs beside the bytes (the run's own work, its
temporary names and renames are not in it).
"""
import ctypes
import os
import shutil
import sys
import time


def main() -> int:
    if len(sys.argv) != 3:
        print(__doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        return 2
    outbox, scratch = sys.argv[1], sys.argv[2]
    plan = []
    for folder, _, names in os.walk(outbox):
        relative = os.path.relpath(folder, outbox)
        plan.append((relative, [(n, os.path.getsize(os.path.join(folder, n))) for n in sorted(names)]))
    shutil.rmtree(scratch, ignore_errors=True)
    zeros = bytes(1 << 20)
    files = size = 0
    started = time.monotonic()
    for relative, entries in plan:
        target = os.path.normpath(os.path.join(scratch, relative))
        os.makedirs(target, exist_ok=True)
        for name, length in entries:
            fd = os.open(os.path.join(target, name), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            try:
                left = length
                while left > 0:
                    left -= os.write(fd, zeros[: min(left, len(zeros))])
            finally:
                os.close(fd)
            files += 1
            size += length
    os.makedirs(scratch, exist_ok=True)
    fd = os.open(scratch, os.O_RDONLY)
    try:
        if ctypes.CDLL(None, use_errno=True).syncfs(fd) != 0:
            raise OSError(ctypes.get_errno(), "syncfs failed", scratch)
    finally:
        os.close(fd)
    seconds = time.monotonic() - started
    shutil.rmtree(scratch, ignore_errors=True)
    print(f"{files}\t{size}\t{seconds:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
