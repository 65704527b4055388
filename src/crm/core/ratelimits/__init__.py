"""Token buckets that rate limits draw on: in memory for one process, in the database for
several (ADR 0006)."""

from crm.core.ratelimits.buckets import Buckets, DatabaseBuckets, MemoryBuckets, Rate

__all__ = ["Buckets", "DatabaseBuckets", "MemoryBuckets", "Rate"]
