"""plato's JSON schemas compiled into Python by schemas/compile.py (generated: do not edit the modules)."""
