"""``python -m gridgeo``."""

from gridgeo.cli import main

raise SystemExit(main())
