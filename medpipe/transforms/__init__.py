"""medpipe.transforms."""
