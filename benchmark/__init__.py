"""Trial pipeline, suites, backends, results store, reports and the CLI."""
