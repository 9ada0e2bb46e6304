"""medpipe.losses."""
