"""medpipe.mri."""
