"""Blender extension for POSA (the operators and panels land with the add-on issue)."""
