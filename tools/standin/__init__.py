"""Build-time generators of the stand-in's shipped files (not part of the package or the add-on):
:mod:`tools.standin.hierarchy` builds its mesh hierarchy; ``tools/make_standin.py`` is the
command line.
"""
