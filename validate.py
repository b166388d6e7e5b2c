#!/usr/bin/env python3
"""Validate the jak-derm-data package: `python validate.py [PATH] [--format text|json|github]`.

A thin entry to `python -m jakderm validate`; see README.md for what it checks and its exit codes.
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from jakderm.cli import run

if __name__ == "__main__":
    run(["validate", *sys.argv[1:]])
