"""The overlap-tile strategy, pure: no OpenVINO, no files.

``geometry`` plans stride-aligned tile grids (the UNet paper's overlap-tile), ``blending``
makes the raised-cosine windows, ``merger`` accumulates finished tiles into row bands and
hands out finished rows, and ``tiler`` drives one image through any model that has
``submit`` (:class:`tiler.TileModel`): the engine in use, plain NumPy functions in tests.
"""
