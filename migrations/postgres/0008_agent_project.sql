-- An agent's project: set when it registers (from a project-scoped key, else the body's
-- `project`); none means the agent is shared. A key scoped to a project reports for and
-- steers only its project's agents. Existing agents whose tasks all lie in one project
-- are put in that project.
ALTER TABLE agents ADD COLUMN project_id TEXT;
UPDATE agents SET project_id = (SELECT MIN(t.project_id) FROM agent_tasks t WHERE t.agent_id = agents.id)
WHERE EXISTS (SELECT 1 FROM agent_tasks t WHERE t.agent_id = agents.id)
  AND NOT EXISTS (SELECT 1 FROM agent_tasks t WHERE t.agent_id = agents.id AND t.project_id IS NULL)
  AND (SELECT COUNT(DISTINCT t.project_id) FROM agent_tasks t WHERE t.agent_id = agents.id) = 1;
CREATE INDEX agents_project ON agents (project_id);

-- Repairs of data stored before inputs were bounded: totals above their ceilings (see
-- domain/agents.rs) come down to them, and agents caught in a parent loop lose their parent
-- link, so each can be deleted again.
UPDATE agents SET tokens_in = 9007199254740991 WHERE tokens_in > 9007199254740991;
UPDATE agents SET tokens_out = 9007199254740991 WHERE tokens_out > 9007199254740991;
UPDATE agent_tasks SET tokens_in = 9007199254740991 WHERE tokens_in > 9007199254740991;
UPDATE agent_tasks SET tokens_out = 9007199254740991 WHERE tokens_out > 9007199254740991;
UPDATE agents SET cost_usd = 1e15 WHERE cost_usd > 1e15;
UPDATE agent_tasks SET cost_usd = 1e15 WHERE cost_usd > 1e15;
WITH RECURSIVE chain(start, at, depth) AS (
    SELECT id, parent_agent_id, 1 FROM agents WHERE parent_agent_id IS NOT NULL
    UNION ALL
    SELECT chain.start, a.parent_agent_id, chain.depth + 1 FROM chain JOIN agents a ON a.id = chain.at
    WHERE chain.at <> chain.start AND chain.depth < 10000
)
UPDATE agents SET parent_agent_id = NULL WHERE id IN (SELECT start FROM chain WHERE at = start);
