"""How the card's overlap is chosen from seam measurements on several sheets."""
from __future__ import annotations

from batchcolor.tools.seams import SEAM_OVERLAPS, smallest_passing_overlap, worst_rows


def row(overlap: int, psnr: float, seams: float, tiles: int = 6) -> dict:
    return {"overlap": overlap, "tiles": tiles, "psnr": psnr, "psnr_seams": seams}


def test_each_figure_takes_its_worst_sheet():
    """The default's two sheets at overlap 256: 49.7 / 45.6 and 45.3 / 46.3 dB. Picking one
    sheet's row by the seam figure showed 49.7 overall; the overall figure is 45.3."""
    a = [row(256, 49.74, 45.64), row(272, 66.99, 66.70), row(320, 100.0, 100.0, 12)]
    b = [row(256, 45.29, 46.29, 9), row(272, 60.54, 70.07, 12), row(320, 100.0, 100.0, 12)]
    rows = worst_rows([a, b])
    assert rows[0] == row(256, 45.29, 45.64, 9)
    assert rows[1] == row(272, 60.54, 66.70, 12)
    assert smallest_passing_overlap(rows) == 272


def test_one_figure_failing_on_one_sheet_fails_the_overlap():
    a = [row(256, 55.0, 44.0), row(288, 60.0, 60.0)]  # seams fail here
    b = [row(256, 49.0, 50.0), row(288, 61.0, 62.0)]  # overall fails here
    assert smallest_passing_overlap(worst_rows([a, b])) == 288
    assert smallest_passing_overlap(worst_rows([a[:1], b[:1]])) is None


def test_overlaps_are_stride_aligned_and_fine_where_networks_start_to_pass():
    assert list(SEAM_OVERLAPS) == sorted(set(SEAM_OVERLAPS))
    assert all(o % 16 == 0 for o in SEAM_OVERLAPS)
    fine = [o for o in SEAM_OVERLAPS if o >= 192]
    assert all(b - a == 16 for a, b in zip(fine, fine[1:]))
