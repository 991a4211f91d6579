"""Measuring and making things, on top of the rest: ``evaluate`` and ``metrics`` (quality
tables), ``seams`` (tiled vs one tile), ``bench`` (speed and memory against the real tools),
``sheets`` (contact sheets), ``prepare`` (AB pairs from photos), ``synthetic`` (small real
OpenVINO networks for tests and benchmarks).
"""
