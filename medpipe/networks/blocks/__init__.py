"""medpipe.networks.blocks."""
