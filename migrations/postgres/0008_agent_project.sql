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
