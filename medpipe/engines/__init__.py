"""medpipe.engines."""
