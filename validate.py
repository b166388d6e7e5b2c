#!/usr/bin/env python3
"""Validate the jak-derm-data package: `python validate.py [PATH] [--format text|json|github]`.

A thin entry to `python -m jakderm validate`; see README.md for what it checks and its exit codes.
"""
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from jakderm.cli import main, skip_unused_imports  # noqa: E402

if __name__ == "__main__":
    skip_unused_imports()
    code = main(["validate", *sys.argv[1:]])
    sys.stdout.flush()
    # Skip freeing a million-row package object by object at exit (a fifth of a second): the
    # report is printed, nothing is left to write.
    os._exit(code)
