"""One image, one path, for every command: ``settings`` (what decides the pixels, resolved
against the model's card; the engine opened once), ``guidance`` (hints, ``--color``, kept
lines and paper for one file), ``image`` (file or pixels in, colour out: route, tiles
planned once, finishing steps, streamed or in-memory encoding) and ``single`` (``tile``).
"""
