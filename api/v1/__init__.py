"""/api/v1: the REST API over the same core services as the pages."""
