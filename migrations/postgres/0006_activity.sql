-- Real progress and usage (A6): the last report that was more than a bare heartbeat, and
-- token and cost totals (sums of the deltas agents report).
ALTER TABLE agents ADD COLUMN last_activity_at BIGINT;
ALTER TABLE agents ADD COLUMN tokens_in BIGINT NOT NULL DEFAULT 0;
ALTER TABLE agents ADD COLUMN tokens_out BIGINT NOT NULL DEFAULT 0;
ALTER TABLE agents ADD COLUMN cost_usd DOUBLE PRECISION NOT NULL DEFAULT 0;
ALTER TABLE agent_tasks ADD COLUMN last_activity_at BIGINT;
ALTER TABLE agent_tasks ADD COLUMN tokens_in BIGINT NOT NULL DEFAULT 0;
ALTER TABLE agent_tasks ADD COLUMN tokens_out BIGINT NOT NULL DEFAULT 0;
ALTER TABLE agent_tasks ADD COLUMN cost_usd DOUBLE PRECISION NOT NULL DEFAULT 0;
