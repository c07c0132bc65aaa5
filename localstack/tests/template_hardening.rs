//! What `infra/template.yaml` promises about data at rest, in transit and in logs, and
//! about public routes, read from the template itself (cfn-lint checks the syntax).

use crm_local::template::{ResolvedStack, load};
use serde_json::Value;
use std::collections::HashMap;
use std::path::Path;

fn stack() -> ResolvedStack {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../infra/template.yaml");
    load(&path, "hardening", &HashMap::new()).unwrap()
}

fn resource<'a>(stack: &'a ResolvedStack, logical_id: &str) -> &'a Value {
    &stack
        .resources
        .iter()
        .find(|r| r.logical_id == logical_id)
        .unwrap_or_else(|| panic!("{logical_id} is in the template"))
        .properties
}

#[test]
fn every_bucket_refuses_plain_http() {
    let stack = stack();
    let policies: Vec<&Value> = stack
        .of_kind("AWS::S3::BucketPolicy")
        .map(|p| &p.properties)
        .collect();
    for bucket in stack.of_kind("AWS::S3::Bucket") {
        let name = bucket.properties["BucketName"].as_str().unwrap();
        let tls_only = policies.iter().any(|policy| {
            policy["Bucket"].as_str() == Some(name)
                && policy["PolicyDocument"]["Statement"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|s| {
                        s["Effect"] == "Deny"
                            && s["Condition"]["Bool"]["aws:SecureTransport"] == "false"
                    })
        });
        assert!(tls_only, "{} has no TLS-only policy", bucket.logical_id);
    }
}

#[test]
fn documents_are_versioned_and_raw_personal_data_expires() {
    let stack = stack();
    assert_eq!(
        resource(&stack, "DocumentsBucket")["VersioningConfiguration"]["Status"],
        "Enabled"
    );
    let rules = resource(&stack, "InboundBucket")["LifecycleConfiguration"]["Rules"]
        .as_array()
        .unwrap()
        .clone();
    for prefix in ["email/", "webhooks/"] {
        assert!(
            rules
                .iter()
                .any(|r| r["Prefix"] == prefix && !r["ExpirationInDays"].is_null()),
            "{prefix} expires: {rules:?}"
        );
    }
}

#[test]
fn every_function_logs_to_a_group_with_retention() {
    let stack = stack();
    let groups: Vec<String> = stack
        .of_kind("AWS::Logs::LogGroup")
        .filter(|g| !g.properties["RetentionInDays"].is_null())
        .map(|g| g.properties["LogGroupName"].as_str().unwrap().to_owned())
        .collect();
    for function in &stack.functions {
        let group = format!("/aws/lambda/{}", function.name);
        assert!(
            groups.contains(&group),
            "{group} has no retention: {groups:?}"
        );
    }
}

#[test]
fn public_routes_are_throttled_and_deletes_are_confined_to_the_outbox() {
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../infra/template.yaml"),
    )
    .unwrap();
    let template: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
    let resources = &template["Resources"];
    let routes = &resources["HttpApi"]["Properties"]["RouteSettings"];
    for route in [
        "GET /webhooks/miko/{secret}",
        "POST /webhooks/jivo/{secret}",
        "POST /webhooks/forms/{secret}",
    ] {
        assert!(routes[route]["ThrottlingRateLimit"].is_number(), "{route}");
    }
    let reserved = &resources["WebhooksFunction"]["Properties"]["ReservedConcurrentExecutions"];
    assert!(
        !reserved.is_null(),
        "the webhooks function's concurrency is capped"
    );
    for (name, resource) in resources.as_mapping().unwrap() {
        let statements = resource["Properties"]["Policies"][0]["Statement"].as_sequence();
        for statement in statements.into_iter().flatten() {
            let actions = match &statement["Action"] {
                serde_yaml::Value::Sequence(list) => list.clone(),
                single => vec![single.clone()],
            };
            if actions.iter().any(|a| a == "dynamodb:DeleteItem") {
                assert_eq!(
                    statement["Condition"]["ForAllValues:StringLike"]["dynamodb:LeadingKeys"][0],
                    "OUTBOX#*",
                    "{name:?} may delete beyond the outbox"
                );
            }
        }
    }
}
