"""``python -m gridgeo``."""

import atexit
import os
import sys

import gridgeo.cli
from gridgeo.cli import main

gridgeo.cli.OWN_PROCESS = True

try:
    code = main()
    sys.stdout.flush()
except BrokenPipeError:
    # the reader went away (``… | head``): no traceback; Python's own recipe
    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    code = 1
# Everything is written: skip the interpreter's teardown, where freeing numba's compiled search
# and the loaded libraries took 0.7–1 s of a 3–4 s partition run (bench/README.md). The exit
# handlers still run (logging, multiprocessing, temporary folders), and an error still raises.
sys.stderr.flush()
atexit._run_exitfuncs()
os._exit(code)
