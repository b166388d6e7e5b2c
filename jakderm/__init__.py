"""jak-derm-data: JAK inhibitors in dermatology as a validated Frictionless Data Package."""
__version__ = "0.1.0"

from .loader import analysis_table, load  # noqa: E402,F401
