"""A GWCS for a cutout, made by composing a pixel shift in front of the original pipeline.

Editing the original's transforms in place (inserting into its first step, or resetting its
bounding box) is what made the reference's cutout GWCS fragile (gwcs#422, a transposed
bounding box). Here the original pipeline is reused step for step, behind one new step that
maps cutout pixels to original pixels, so every intermediate frame survives and the world
coordinates of a cutout pixel are, by construction, those of the same original pixel.
"""

import copy

from astropy.modeling import models


def cutout_gwcs(original, corner, shape):
    """GWCS of the stamp whose first pixel is original pixel ``corner`` (0-based ``(x, y)``).

    ``shape`` is the stamp's ``(ny, nx)``. The bounding box is given in ``(x, y)`` order, as
    gwcs expects for its input axes, and spans the stamp's pixels to their outer edges.
    """
    from gwcs import coordinate_frames, wcs

    x0, y0 = (float(value) for value in corner)
    ny, nx = shape
    shift = models.Shift(x0, name="cutout_x0") & models.Shift(y0, name="cutout_y0")
    # Only the shift is inverted here; what follows keeps the original's own inverse (or
    # gwcs's numerical one when the original has none).
    shift.inverse = models.Shift(-x0) & models.Shift(-y0)

    first = original.input_frame
    frame_name = _unused_name("cutout", original)
    unit = getattr(first, "unit", None) or None
    axes = getattr(first, "axes_names", None) or ("x", "y")
    cutout_frame = coordinate_frames.Frame2D(name=frame_name, axes_names=axes, unit=unit)

    steps = [wcs.Step(cutout_frame, shift)]
    steps += [wcs.Step(copy.deepcopy(step.frame), copy.deepcopy(step.transform))
              for step in original.pipeline]
    result = wcs.WCS(steps, name=getattr(original, "name", "") or "")
    result.bounding_box = ((-0.5, nx - 0.5), (-0.5, ny - 0.5))
    result.pixel_shape = (nx, ny)
    result.array_shape = (ny, nx)
    return result


def _unused_name(name, original):
    taken = set(original.available_frames)
    candidate, number = name, 1
    while candidate in taken:
        number += 1
        candidate = f"{name}{number}"
    return candidate
