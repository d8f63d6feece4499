"""Board platforms, pin maps, PLLs and I/O PHYs (see issue #4)."""
