"""Danlu's benchmarks (issue 7): measured ratios, each taken in one run on one machine.

`python -m bench` runs them all and writes bench/RESULTS.md. See bench/run.py.
"""
