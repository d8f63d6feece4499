"""Platform-free halves of the PHYs: the gearboxes between the sample clock and the core clock."""
