//! Every GraphQL document ocd sends to Linear validates against Linear's real schema, and the
//! check bites: a field Linear does not have is refused.

use crate::fake_linear::invalid;

#[test]
fn every_document_validates_against_linears_schema() {
    for doc in ocd::linear::queries::ALL {
        assert_eq!(invalid(doc.text), None, "{} does not validate", doc.name);
        assert!(doc.text.contains(&format!(" {}(", doc.name)), "{} is named in its text", doc.name);
    }
}

#[test]
fn a_field_linear_does_not_have_is_refused() {
    let wrong = ocd::linear::queries::TEAMS.text.replace("id key name", "id key name mood");
    let errors = invalid(&wrong).expect("refused");
    assert!(errors.contains("mood"), "{errors}");
}

#[test]
fn variables_are_checked_against_the_schema_too() {
    use crate::fake_linear::invalid_request;
    let create = ocd::linear::queries::WEBHOOK_CREATE;
    let good = serde_json::json!({"input": {"url": "https://x.example/h", "resourceTypes": ["Issue"], "allPublicTeams": true}});
    assert_eq!(invalid_request(create.text, Some(create.name), &good), None);
    let wrong = serde_json::json!({"input": {"url": "https://x.example/h", "resourceType": ["Issue"]}});
    assert!(invalid_request(create.text, Some(create.name), &wrong).is_some(), "a misspelt input field is refused");
    let issues = ocd::linear::queries::ISSUES;
    let filter = serde_json::json!({"filter": {"project": {"null": false}}, "first": 100});
    assert_eq!(invalid_request(issues.text, Some(issues.name), &filter), None);
}
