"""medpipe.metrics."""
