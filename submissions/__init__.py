"""The domain: catalog, identities, submissions and evaluations; every write goes through services."""
