"""medpipe.io."""
