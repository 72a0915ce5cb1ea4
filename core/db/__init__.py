"""Storage: typed models, engines, the unit of work and migrations."""

from core.db.session import UnitOfWork, get_engine

__all__ = ["UnitOfWork", "get_engine"]
