"""``astrocut serve``: a self-hosted TESScut, compatible with astroquery's ``Tesscut``.

Needs the ``serve`` extra (Starlette and uvicorn): ``pip install "astrocut[serve]"``.
"""

from astrocut.errors import AstrocutError

INSTALL_HINT = 'astrocut serve needs Starlette and uvicorn: pip install "astrocut[serve]"'


def require_stack():
    """Import the server stack or raise one line saying what to install."""
    try:
        import starlette  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError as exc:
        raise AstrocutError(f"{INSTALL_HINT} ({exc.name} is missing)") from None
