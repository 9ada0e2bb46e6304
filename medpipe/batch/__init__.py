"""medpipe.batch."""
