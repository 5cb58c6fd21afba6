"""pytest plugin and contract kit for deployer targets and plugins."""
