"""Operating LeadScout: RQ registries, usage against budgets, alerts and Sentry."""
