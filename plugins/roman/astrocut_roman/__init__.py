"""Roman (ASDF images with a GWCS) for astrocut.

The plugin module imports nothing heavy: asdf and gwcs are loaded only when an ASDF file is
actually cut, so ``import astrocut`` never imports them.
"""
