"""A folder tree, safely and incrementally: ``walk`` (inputs and where outputs go), ``manifest``
(what is done and whether it is current), ``lock`` (one run per output folder), ``report``
(counts, events, the exit code), ``execute`` (one file's work and files in flight here),
``distributed`` (the same work on Dask), ``pipelines`` (TOML presets) and ``runner`` (a run
from lock to summary). ``runner`` sits on top; ``execute`` and ``distributed`` sit side by
side below it.
"""
