//! Every GraphQL document ocd sends to Linear, in one place. `tests/api/linear_schema.rs`
//! validates each of them against Linear's published schema, so a field Linear does not have
//! cannot ship; the fake Linear server the tests run against refuses any other document.
//!
//! Page sizes keep each query under Linear's complexity limit (10,000 points; a connection
//! multiplies its children's cost by `first`): 100 issues with 20 labels each is ~2,500.

/// A query with its operation name (the fake server and the logs know it by that name).
#[derive(Debug, Clone, Copy)]
pub struct Document {
    pub name: &'static str,
    pub text: &'static str,
}

pub const TEAMS: Document = Document {
    name: "Teams",
    text: "query Teams($first: Int = 50, $after: String) { teams(first: $first, after: $after) { nodes { id key name } \
           pageInfo { hasNextPage endCursor } } }",
};

/// Every team's workflow states in one paginated list (never one request per team).
pub const WORKFLOW_STATES: Document = Document {
    name: "WorkflowStates",
    text: "query WorkflowStates($first: Int = 100, $after: String) { workflowStates(first: $first, after: $after) { \
           nodes { id name type color position team { id } } pageInfo { hasNextPage endCursor } } }",
};

/// What ocd keeps of a project, shared by the two project queries.
macro_rules! project_fields {
    () => {
        "fragment ProjectFields on Project { id name description status { name } progress startDate targetDate url updatedAt \
         teams(first: 10) { nodes { id key name } } }"
    };
}

pub const PROJECTS: Document = Document {
    name: "Projects",
    text: concat!(
        "query Projects($first: Int = 50, $after: String) { projects(first: $first, after: $after) { nodes { ...ProjectFields } \
         pageInfo { hasNextPage endCursor } } } ",
        project_fields!()
    ),
};

pub const PROJECT: Document = Document {
    name: "Project",
    text: concat!("query Project($id: String!) { project(id: $id) { ...ProjectFields } } ", project_fields!()),
};

/// Issues with everything a card shows (state, team, project, assignee, labels) in the same
/// page, filtered by project (`{project: {null: false}}` for every project's issues, or one
/// project's id): one paginated list, never one request per issue or per project.
pub const ISSUES: Document = Document {
    name: "Issues",
    text: "query Issues($filter: IssueFilter, $first: Int = 100, $after: String) { issues(filter: $filter, first: $first, after: $after) { \
           nodes { id identifier title description url priority estimate updatedAt state { id name type } team { id } project { id } \
           assignee { id name displayName avatarUrl } labels(first: 20) { nodes { id name } } } pageInfo { hasNextPage endCursor } } }",
};

pub const ISSUE_SET_STATE: Document = Document {
    name: "IssueSetState",
    text: "mutation IssueSetState($id: String!, $stateId: String!) { issueUpdate(id: $id, input: { stateId: $stateId }) { success \
           issue { id identifier updatedAt state { id name type } } } }",
};

pub const WEBHOOK_CREATE: Document = Document {
    name: "WebhookCreate",
    text: "mutation WebhookCreate($input: WebhookCreateInput!) { webhookCreate(input: $input) { success \
           webhook { id url enabled resourceTypes } } }",
};

pub const WEBHOOK: Document =
    Document { name: "Webhook", text: "query Webhook($id: String!) { webhook(id: $id) { id url enabled resourceTypes } }" };

pub const WEBHOOK_DELETE: Document =
    Document { name: "WebhookDelete", text: "mutation WebhookDelete($id: String!) { webhookDelete(id: $id) { success } }" };

/// Every document, for the schema check.
pub const ALL: &[Document] = &[TEAMS, WORKFLOW_STATES, PROJECTS, PROJECT, ISSUES, ISSUE_SET_STATE, WEBHOOK_CREATE, WEBHOOK, WEBHOOK_DELETE];
