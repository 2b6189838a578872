"""The gateway process: config, lifecycle, pipeline, CLI."""
