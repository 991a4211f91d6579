"""What a drawing says besides its pixels, and how its colour is finished, pure NumPy/OpenCV:
``hints`` (what a colour hint is, its network planes, the training protocol), ``objects``
(the drawn objects, for ``--scale auto`` and sheets), ``chroma`` (``--color`` and hint
regions as a colourist applies them), ``paper`` (paper stays paper outside the objects).
"""
