#!/usr/bin/python3
"""Runs pytest on the given paths; exits 77 (meson: skipped) when pytest is not installed."""
import sys

try:
    import pytest
except ImportError:
    print("pytest is not installed (Debian: python3-pytest); skipping")
    sys.exit(77)

sys.exit(pytest.main(["-q", "-p", "no:cacheprovider", *sys.argv[1:]]))
