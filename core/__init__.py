"""LeadScout core: every service the UI, the workers and the command line share."""
