"""Folium maps built from GeoDataFrames (no Streamlit): one module per theme.

``base`` holds what every map shares (offline assets, legend, styles, slim
GeoJSON, the overview and grid maps); each capability adds its own module
(``maps.cases``, ``maps.coverage`` …) and its public names are re-exported here.
"""

from __future__ import annotations

from gridgeo.maps.base import *  # noqa: F401,F403
from gridgeo.maps.base import __all__ as _base_all
from gridgeo.maps.staffing import *  # noqa: F401,F403
from gridgeo.maps.staffing import __all__ as _staffing_all

__all__ = list(_base_all) + list(_staffing_all)

from gridgeo.maps.sla import *  # noqa: E402,F401,F403
from gridgeo.maps.sla import __all__ as _sla_all  # noqa: E402

__all__ += list(_sla_all)
