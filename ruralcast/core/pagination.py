"""API pagination: limit/offset with both ends bounded, so no request can ask the database for an
offset it cannot represent (SQLite refuses offsets beyond 2^63; PostgreSQL would scan forever)."""

from ninja import Field, Schema
from ninja.pagination import LimitOffsetPagination

MAX_LIMIT = 500
MAX_OFFSET = 10_000_000


class BoundedLimitOffsetPagination(LimitOffsetPagination):
    class Input(Schema):
        limit: int = Field(50, ge=1, le=MAX_LIMIT, description=f"Items per page (1–{MAX_LIMIT}).")
        offset: int = Field(0, ge=0, le=MAX_OFFSET, description="Items to skip.")
