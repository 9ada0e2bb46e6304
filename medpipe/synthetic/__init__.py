"""medpipe.synthetic."""
