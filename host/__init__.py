"""Host-side library and command line."""
