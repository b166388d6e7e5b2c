"""jak-derm-data: JAK inhibitors in dermatology as a validated Frictionless Data Package.

`jakderm.load()`, `jakderm.analysis_table()`, `jakderm.effects()` and `jakderm.pool()` import
pandas when first called, so that the validator can read files while pandas imports (see
validation.py).
"""
__version__ = "0.1.0"

__all__ = ["load", "analysis_table", "effects", "pool", "__version__"]


def __getattr__(name):
    if name in ("load", "analysis_table"):
        from . import loader
        return getattr(loader, name)
    if name in ("effects", "pool"):
        from . import meta_analysis
        return getattr(meta_analysis, name)
    raise AttributeError(f"module 'jakderm' has no attribute {name!r}")
