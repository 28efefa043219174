-- Rate limits count in a sliding window: the previous fixed window's count, weighted by how
-- much of it still overlaps the last `window` seconds, plus the current one's. A burst split
-- across a window boundary no longer gets twice the limit.
ALTER TABLE rate_limit_counters ADD COLUMN previous_count integer NOT NULL DEFAULT 0;
