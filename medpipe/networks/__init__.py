"""medpipe.networks."""
