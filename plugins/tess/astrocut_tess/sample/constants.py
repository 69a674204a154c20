"""Numbers shared by the simulated FFIs: sizes, timing, gains, quality bits, stars."""

from __future__ import annotations

import numpy as np

#: (columns, rows) of a whole SPOC FFI, virtual pixels included.
FULL_SIZE = (2136, 2078)
#: Virtual (underclock/overclock) columns on each side and rows at the top of a full FFI.
N_VIRTUAL_COLUMNS = 44
N_VIRTUAL_ROWS = 30

BJDREFI = 2457000
PIXEL_SCALE_DEG = 21.0 / 3600.0
# Reference pixel of real FFIs (1-based), rescaled for smaller images.
_FULL_CRPIX = (1045.0, 1001.0)
# Largest SIP shift at the corners of a full CCD. Kept to a few pixels as the project asked;
# real SPOC headers reach A_DMAX ~ 45 px, so raise this for a harsher distortion test.
SIP_CORNER_SHIFT_PIX = 4.0
SIP_ORDER = 3
SIP_INVERSE_ORDER = 4
# Focal-plane offset (pixels) between a CCD centre and its camera's boresight.
_CCD_OFFSET_PIX = 1060.0

# Frame timing shared by all SPOC FFIs.
INT_TIME = 1.98  # s of photon accumulation per 2 s frame
READTIME = 0.02
FRAMETIM = INT_TIME + READTIME
CR_KEEP_FRACTION = 0.8  # on-board cosmic-ray mitigation keeps 8 of each 10 frames
CRBLKSZ = 10
# BTJD of launch (2018-04-18 22:51 UTC): FFIINDEX counts cadences from about then.
_LAUNCH_BTJD = 1227.45

_GAINS = (5.22, 5.21, 5.21, 5.26)
_READ_NOISE = (9.52, 9.16, 9.56, 9.25)  # e- per read, outputs A-D
_MEAN_BLACK = (6472, 6522, 6559, 6517)

# SPOC DQUALITY bits used for the default flags.
QUALITY_DESAT = 32  # reaction wheel desaturation (momentum dump)
QUALITY_MANUAL_EXCLUDE = 128
QUALITY_STRAY_LIGHT = 2048

PSF_HALF_WIDTH = 5  # star stamps are (2 * 5 + 1) pixels square
_STAR_DENSITY = 2000.0 / (FULL_SIZE[0] * FULL_SIZE[1])
_MIN_STARS = 10
_MIN_SIZE = 32
_VARIABLE_FLUX = 5.0e4
_TRANSIT_FLUX = 2.0e4
_CLEAR_RADIUS = 6.0
# Calibrated virtual pixels hold only a small residual bias and read noise.
_VIRTUAL_LEVEL = np.float32(0.3)  # no other star this close (px) to the variable and transit stars
