"""gridgeo: grid planning and visualisation for urban community governance."""

from __future__ import annotations

__version__ = "0.1.0"
