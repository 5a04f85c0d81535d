"""Folium maps built from GeoDataFrames (no Streamlit): one module per theme.

``base`` holds what every map shares (offline assets, legend, styles, slim
GeoJSON, the overview and grid maps); each capability adds its own module
(``maps.cases``, ``maps.coverage`` …) and its public names are re-exported here.
"""

from __future__ import annotations

from gridgeo.maps.base import *  # noqa: F401,F403
from gridgeo.maps.base import __all__ as _base_all
from gridgeo.maps.cases import *  # noqa: F401,F403
from gridgeo.maps.cases import __all__ as _cases_all
from gridgeo.maps.coverage import *  # noqa: F401,F403
from gridgeo.maps.coverage import __all__ as _coverage_all
from gridgeo.maps.stations import *  # noqa: F401,F403
from gridgeo.maps.stations import __all__ as _stations_all
from gridgeo.maps.staffing import *  # noqa: F401,F403
from gridgeo.maps.staffing import __all__ as _staffing_all

from gridgeo.maps.edit import *  # noqa: F401,F403
from gridgeo.maps.edit import __all__ as _edit_all
from gridgeo.maps.sla import *  # noqa: F401,F403
from gridgeo.maps.sla import __all__ as _sla_all

from gridgeo.maps.plans import *  # noqa: F401,F403
from gridgeo.maps.plans import __all__ as _plans_all

__all__ = [*_base_all, *_cases_all, *_stations_all, *_coverage_all, *_staffing_all, *_sla_all, *_edit_all,
           *_plans_all]
