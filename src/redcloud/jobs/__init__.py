"""The job queue: work written in the caller's transaction, run later by workers."""
