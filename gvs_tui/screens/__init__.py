"""The app's screens, one module each: suites, results (with its drill-down), run, compare."""
