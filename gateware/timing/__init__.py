"""The timing core: the timebase, the tagger channels, the merger of their events."""
