"""The service desk API and, later, its web console."""
