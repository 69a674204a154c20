"""Roman spectral test files (1-D spectra of many sources), written with asdf directly.

roman_datamodels 1.2 has no data model for spectra: rad lists the archive keywords of the
spectroscopy products (SSC/GDPS ``wfi_spec_combined_1d_level_4``: ``unit_wl``,
``unit_flux``, ``optical_element``, ``wl_reference`` ...) but keeps those schemas out of
asdf. So these files are plain trees, laid out as 1.x's spectral subsets read them:
``roman.data`` maps source ID to spectrum, ``roman.meta`` holds the file's keywords.

Each source has its own prism-like wavelength grid (nm); ``flux`` encodes source and
wavelength (``sid % 1000 + wl / 10000``) so a test can tell which samples were kept.
"""

import asdf
import numpy as np
from astropy.time import Time

SOURCES_A = [420001, 420002, 420003, 420004, 420005]
SOURCES_B = [420003, 420004, 420005, 420006, 420007]  # 420007 stored under an integer key


def meta(filename):
    """The keywords of a combined 1-D spectrum file (names from rad's GDPS keyword lists)."""
    return {"filename": filename, "file_date": Time("2026-11-02T10:00:00", scale="utc"),
            "instrument": "WFI", "origin": "IPAC/SSC", "optical_element": "prism",
            "program": 101, "wl_reference": 1.55, "unit_flux": "W m**(-2) nm**(-1)",
            "unit_wl": "nm", "version_g2dp_software": "v3.3.0", "g2dp_run_id": "42"}


def wavelengths(sid):
    """A grid from 750 nm, 10 nm steps, 60 to 84 samples long depending on the source."""
    return 750.0 + 10.0 * np.arange(60 + (sid % 5) * 6)


def spectrum(sid, exposures=3):
    wl = wavelengths(sid)
    n = len(wl)
    flux = (sid % 1000 + wl / 10000).astype(np.float32)
    flag = np.zeros(n, dtype=np.uint32)
    flag[::7] = 1 << 2  # a DQ bit on every 7th sample
    return {
        "wl": wl,
        "flux": flux,
        "flux_error": (0.01 * flux).astype(np.float32),
        "flag": flag,
        # one spectrum per exposure, sampled on the same grid: cut along the first axis
        "flux_exposures": np.repeat(flux[:, None], exposures, axis=1),
        # not sampled on wl: kept whole
        "exposure_ids": np.arange(exposures, dtype=np.int32) + 10 * (sid % 7),
        "number_coadds": exposures,
        "ra": 270.0 + (sid % 100) * 1e-3,
        "dec": 66.0 - (sid % 100) * 1e-3,
    }


def make_spectral_file(path, source_ids, int_keys=(), extra=True):
    """Write ``source_ids``' spectra to ``path``; IDs in ``int_keys`` are stored as integers."""
    data = {}
    for sid in source_ids:
        data[sid if sid in int_keys else str(sid)] = spectrum(sid)
    tree = {"roman": {"meta": meta(str(path).rsplit("/", 1)[-1]), "data": data}}
    if extra:
        tree["roman"]["catalog_ref"] = {"catalog_id": "cat-7", "file_number": 3}
        tree["provenance"] = {"pipeline": "g2dp", "inputs": ["exp_001.asdf", "exp_002.asdf"]}
    af = asdf.AsdfFile(tree)
    af.add_history_entry("combined 1-D spectra", {"name": "g2dp", "author": "SSC",
                                                  "homepage": "https://example.invalid",
                                                  "version": "3.3.0"})
    af.write_to(path)
    return str(path)


def make_pair(folder):
    """Two files sharing three sources, as a prism visit's neighbouring fields would."""
    return [make_spectral_file(folder / "prism_a.asdf", SOURCES_A),
            make_spectral_file(folder / "prism_b.asdf", SOURCES_B, int_keys=(420007,))]


def subset(files, ids, **kwargs):
    """A RomanSpectralSubset read in this process unless a test asks for workers."""
    import astrocut

    kwargs.setdefault("max_workers", 1)
    return astrocut.RomanSpectralSubset(files, ids, **kwargs)
