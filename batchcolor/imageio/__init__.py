"""Image files in and out: probe, decode, streamed reads, streamed PNG/TIFF writes, pixel
formats, atomic durable writes, and the paired (AB) data reader shared by train, eval and
INT8 calibration. NumPy, OpenCV, Pillow, pyvips; nothing about models.
"""
