"""LeadScout's web service: the REST API (/api/v1), /unsubscribe, /hooks/* and /healthz (FastAPI).

``server.py`` mounts it into the UI process (``make run``: one port); ``make api`` runs it alone.
"""
