//! Reads `infra/template.yaml` — the same file the cloud is deployed from — and resolves
//! it for one stack name: parameters, pseudo parameters, `Ref`, `Fn::GetAtt`, `Fn::Sub`,
//! `Fn::Join`, in short or long form. The result says which tables, buckets, queues,
//! identities, parameters and functions exist and how they are wired, so the local stack
//! cannot drift from the cloud one.

use serde_json::{Map, Value};
use std::collections::{BTreeMap, HashMap};
use std::path::Path;

/// Why the template cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("the template is not valid YAML: {0}")]
    Yaml(#[from] serde_yaml::Error),
    #[error("{0}")]
    Unsupported(String),
}

/// The account and region the emulators present.
pub const LOCAL_ACCOUNT: &str = "000000000000";
pub const LOCAL_REGION: &str = "eu-west-1";

/// A resolved resource of the kinds the local stack creates.
#[derive(Debug, Clone)]
pub struct Resource {
    pub logical_id: String,
    pub kind: String,
    /// Properties with every intrinsic function resolved.
    pub properties: Value,
}

/// An event source of a function.
#[derive(Debug, Clone, PartialEq)]
pub enum Trigger {
    Sqs {
        queue_arn: String,
        batch_size: i32,
    },
    Http {
        method: String,
        path: String,
        authorizer: Option<String>,
    },
    /// An EventBridge Scheduler schedule (`rate(…)` or `cron(…)`) with its JSON input.
    Schedule {
        expression: String,
        timezone: Option<String>,
        input: String,
    },
}

/// A function as the template defines it: name, environment, triggers.
#[derive(Debug, Clone)]
pub struct Function {
    pub logical_id: String,
    pub name: String,
    pub binary: String,
    pub environment: HashMap<String, String>,
    pub triggers: Vec<Trigger>,
}

/// A JWT authorizer of the HTTP API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JwtAuthorizer {
    pub issuer: String,
    pub audience: Vec<String>,
}

/// The template resolved for one stack.
#[derive(Debug, Clone)]
pub struct ResolvedStack {
    pub stack_name: String,
    pub resources: Vec<Resource>,
    pub functions: Vec<Function>,
    pub authorizers: BTreeMap<String, JwtAuthorizer>,
}

impl ResolvedStack {
    pub fn of_kind<'a>(&'a self, kind: &'a str) -> impl Iterator<Item = &'a Resource> + 'a {
        self.resources.iter().filter(move |r| r.kind == kind)
    }

    pub fn function(&self, logical_id: &str) -> Option<&Function> {
        self.functions.iter().find(|f| f.logical_id == logical_id)
    }
}

/// Converts YAML (with CloudFormation's short tags) to JSON with long-form intrinsics.
fn to_json(value: serde_yaml::Value) -> Result<Value, TemplateError> {
    use serde_yaml::Value as Y;
    Ok(match value {
        Y::Null => Value::Null,
        Y::Bool(b) => Value::Bool(b),
        Y::Number(n) => serde_json::to_value(n).unwrap_or(Value::Null),
        Y::String(s) => Value::String(s),
        Y::Sequence(items) => {
            Value::Array(items.into_iter().map(to_json).collect::<Result<_, _>>()?)
        }
        Y::Mapping(map) => {
            let mut out = Map::new();
            for (k, v) in map {
                let key = match k {
                    Y::String(s) => s,
                    other => serde_yaml::to_string(&other)?.trim().to_owned(),
                };
                out.insert(key, to_json(v)?);
            }
            Value::Object(out)
        }
        Y::Tagged(tagged) => {
            let tag = tagged.tag.to_string();
            let name = tag.trim_start_matches('!');
            let inner = to_json(tagged.value)?;
            let (key, inner) = match name {
                "Ref" => ("Ref".to_owned(), inner),
                "GetAtt" => {
                    let parts = match inner {
                        Value::String(s) => {
                            let (resource, attribute) = s.split_once('.').ok_or_else(|| {
                                TemplateError::Unsupported(format!("!GetAtt {s}"))
                            })?;
                            Value::Array(vec![resource.into(), attribute.into()])
                        }
                        other => other,
                    };
                    ("Fn::GetAtt".to_owned(), parts)
                }
                other => (format!("Fn::{other}"), inner),
            };
            Value::Object(Map::from_iter([(key, inner)]))
        }
    })
}

/// Physical identity of a resource, known before it exists.
#[derive(Debug, Clone)]
struct Physical {
    reference: String,
    attributes: HashMap<&'static str, String>,
}

struct Resolver {
    scalars: HashMap<String, String>,
    physical: HashMap<String, Physical>,
}

impl Resolver {
    fn reference(&self, name: &str) -> Result<String, TemplateError> {
        self.scalars
            .get(name)
            .cloned()
            .or_else(|| self.physical.get(name).map(|p| p.reference.clone()))
            .ok_or_else(|| TemplateError::Unsupported(format!("Ref to unknown {name}")))
    }

    fn attribute(&self, resource: &str, attribute: &str) -> Result<String, TemplateError> {
        self.physical
            .get(resource)
            .and_then(|p| p.attributes.get(attribute).cloned())
            .ok_or_else(|| TemplateError::Unsupported(format!("GetAtt {resource}.{attribute}")))
    }

    fn sub(&self, text: &str, extra: &Map<String, Value>) -> Result<String, TemplateError> {
        let mut out = String::new();
        let mut rest = text;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let end = after
                .find('}')
                .ok_or_else(|| TemplateError::Unsupported(format!("unclosed ${{ in {text}")))?;
            let name = &after[..end];
            let value = if let Some(v) = extra.get(name) {
                self.string(v)?
            } else if let Some((resource, attribute)) =
                name.split_once('.').filter(|_| !name.starts_with("AWS::"))
            {
                self.attribute(resource, attribute)?
            } else {
                self.reference(name)?
            };
            out.push_str(&value);
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }

    fn string(&self, value: &Value) -> Result<String, TemplateError> {
        match self.resolve(value)? {
            Value::String(s) => Ok(s),
            Value::Number(n) => Ok(n.to_string()),
            Value::Bool(b) => Ok(b.to_string()),
            other => Err(TemplateError::Unsupported(format!(
                "expected a string, got {other}"
            ))),
        }
    }

    fn resolve(&self, value: &Value) -> Result<Value, TemplateError> {
        match value {
            Value::Object(map) if map.len() == 1 => {
                let (key, inner) = map
                    .iter()
                    .next()
                    .map(|(k, v)| (k.as_str(), v))
                    .unwrap_or(("", value));
                match key {
                    "Ref" => Ok(Value::String(
                        self.reference(inner.as_str().unwrap_or_default())?,
                    )),
                    "Fn::GetAtt" => {
                        let parts: Vec<&str> = inner
                            .as_array()
                            .into_iter()
                            .flatten()
                            .filter_map(Value::as_str)
                            .collect();
                        match parts.as_slice() {
                            [resource, attribute] => {
                                Ok(Value::String(self.attribute(resource, attribute)?))
                            }
                            _ => Err(TemplateError::Unsupported(format!("Fn::GetAtt {inner}"))),
                        }
                    }
                    "Fn::Sub" => match inner {
                        Value::String(text) => Ok(Value::String(self.sub(text, &Map::new())?)),
                        Value::Array(parts) => match parts.as_slice() {
                            [Value::String(text), Value::Object(vars)] => {
                                Ok(Value::String(self.sub(text, vars)?))
                            }
                            _ => Err(TemplateError::Unsupported(format!("Fn::Sub {inner}"))),
                        },
                        _ => Err(TemplateError::Unsupported(format!("Fn::Sub {inner}"))),
                    },
                    "Fn::Join" => match inner.as_array().map(Vec::as_slice) {
                        Some([Value::String(separator), Value::Array(items)]) => Ok(Value::String(
                            items
                                .iter()
                                .map(|i| self.string(i))
                                .collect::<Result<Vec<_>, _>>()?
                                .join(separator),
                        )),
                        _ => Err(TemplateError::Unsupported(format!("Fn::Join {inner}"))),
                    },
                    _ => Ok(Value::Object(Map::from_iter([(
                        key.to_owned(),
                        self.resolve(inner)?,
                    )]))),
                }
            }
            Value::Object(map) => Ok(Value::Object(
                map.iter()
                    .map(|(k, v)| Ok((k.clone(), self.resolve(v)?)))
                    .collect::<Result<_, TemplateError>>()?,
            )),
            Value::Array(items) => Ok(Value::Array(
                items
                    .iter()
                    .map(|i| self.resolve(i))
                    .collect::<Result<_, _>>()?,
            )),
            other => Ok(other.clone()),
        }
    }
}

/// Loads and resolves the template for `stack_name`, with parameter `overrides`.
pub fn load(
    path: &Path,
    stack_name: &str,
    overrides: &HashMap<String, String>,
) -> Result<ResolvedStack, TemplateError> {
    let text = std::fs::read_to_string(path).map_err(|source| TemplateError::Read {
        path: path.display().to_string(),
        source,
    })?;
    resolve(&text, stack_name, overrides)
}

/// Resolves template text for `stack_name`.
pub fn resolve(
    text: &str,
    stack_name: &str,
    overrides: &HashMap<String, String>,
) -> Result<ResolvedStack, TemplateError> {
    let template = to_json(serde_yaml::from_str(text)?)?;
    let empty = Map::new();
    let section = |name: &str| {
        template
            .get(name)
            .and_then(Value::as_object)
            .unwrap_or(&empty)
    };

    let mut scalars = HashMap::from([
        ("AWS::StackName".to_owned(), stack_name.to_owned()),
        ("AWS::AccountId".to_owned(), LOCAL_ACCOUNT.to_owned()),
        ("AWS::Region".to_owned(), LOCAL_REGION.to_owned()),
        ("AWS::Partition".to_owned(), "aws".to_owned()),
        ("AWS::URLSuffix".to_owned(), "amazonaws.com".to_owned()),
    ]);
    for (name, parameter) in section("Parameters") {
        let value = overrides
            .get(name)
            .cloned()
            .or_else(|| {
                parameter.get("Default").map(|d| {
                    d.as_str()
                        .map(str::to_owned)
                        .unwrap_or_else(|| d.to_string())
                })
            })
            .ok_or_else(|| {
                TemplateError::Unsupported(format!(
                    "parameter {name} has no default and no override"
                ))
            })?;
        scalars.insert(name.clone(), value);
    }

    // Physical names first: they may use parameters and pseudo parameters only.
    let mut resolver = Resolver {
        scalars,
        physical: HashMap::new(),
    };
    let resources = section("Resources");
    let mut physical = HashMap::new();
    for (logical_id, resource) in resources {
        let kind = resource
            .get("Type")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let properties = resource.get("Properties").cloned().unwrap_or(Value::Null);
        let named = |property: &str| -> Result<String, TemplateError> {
            match properties.get(property) {
                Some(v) => resolver.string(v),
                None => Ok(format!("{stack_name}-{logical_id}")),
            }
        };
        let entry = match kind {
            "AWS::DynamoDB::Table" => {
                let name = named("TableName")?;
                Physical {
                    attributes: HashMap::from([(
                        "Arn",
                        format!("arn:aws:dynamodb:{LOCAL_REGION}:{LOCAL_ACCOUNT}:table/{name}"),
                    )]),
                    reference: name,
                }
            }
            "AWS::S3::Bucket" => {
                let name = named("BucketName")?;
                Physical {
                    attributes: HashMap::from([
                        ("Arn", format!("arn:aws:s3:::{name}")),
                        (
                            "RegionalDomainName",
                            format!("{name}.s3.{LOCAL_REGION}.amazonaws.com"),
                        ),
                    ]),
                    reference: name,
                }
            }
            "AWS::SQS::Queue" => {
                let name = named("QueueName")?;
                let url =
                    format!("http://127.0.0.1:4566/queue/{LOCAL_REGION}/{LOCAL_ACCOUNT}/{name}");
                Physical {
                    attributes: HashMap::from([
                        (
                            "Arn",
                            format!("arn:aws:sqs:{LOCAL_REGION}:{LOCAL_ACCOUNT}:{name}"),
                        ),
                        ("QueueName", name),
                        ("QueueUrl", url.clone()),
                    ]),
                    reference: url,
                }
            }
            "AWS::SES::EmailIdentity" => Physical {
                reference: named("EmailIdentity")?,
                attributes: HashMap::new(),
            },
            "AWS::SES::ReceiptRuleSet" => Physical {
                reference: named("RuleSetName")?,
                attributes: HashMap::new(),
            },
            // Ref gives the ARN in the cloud; the name identifies the secret just as well.
            "AWS::SecretsManager::Secret" => Physical {
                reference: named("Name")?,
                attributes: HashMap::new(),
            },
            "AWS::SSM::Parameter" => Physical {
                reference: named("Name")?,
                attributes: HashMap::new(),
            },
            "AWS::IAM::Role" => {
                let name = named("RoleName")?;
                Physical {
                    attributes: HashMap::from([(
                        "Arn",
                        format!("arn:aws:iam::{LOCAL_ACCOUNT}:role/{name}"),
                    )]),
                    reference: name,
                }
            }
            "AWS::Serverless::Function" => Physical {
                reference: named("FunctionName")?,
                attributes: HashMap::new(),
            },
            // Resources the local stack does not play (CloudFront, Cognito, …): names that
            // resolve, so the template loads as a whole.
            _ => Physical {
                reference: format!("{stack_name}-{logical_id}"),
                attributes: HashMap::from([
                    ("Arn", format!("arn:aws:local:::{stack_name}-{logical_id}")),
                    ("Id", format!("{stack_name}-{logical_id}")),
                    ("DomainName", format!("{stack_name}-{logical_id}.local")),
                ]),
            },
        };
        physical.insert(logical_id.clone(), entry);
    }
    resolver.physical = physical;

    let mut resolved = Vec::new();
    let mut authorizers = BTreeMap::new();
    let mut default_authorizers = HashMap::new();
    for (logical_id, resource) in resources {
        let kind = resource
            .get("Type")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let properties = resolver.resolve(resource.get("Properties").unwrap_or(&Value::Null))?;
        if kind == "AWS::Serverless::HttpApi" {
            let auth = properties.get("Auth");
            if let Some(default) = auth
                .and_then(|a| a.get("DefaultAuthorizer"))
                .and_then(Value::as_str)
            {
                default_authorizers.insert(logical_id.clone(), default.to_owned());
            }
            for (name, authorizer) in auth
                .and_then(|a| a.get("Authorizers"))
                .and_then(Value::as_object)
                .unwrap_or(&empty)
            {
                let jwt = authorizer.get("JwtConfiguration");
                authorizers.insert(
                    name.clone(),
                    JwtAuthorizer {
                        issuer: jwt
                            .and_then(|j| j.get("issuer"))
                            .and_then(Value::as_str)
                            .unwrap_or_default()
                            .to_owned(),
                        audience: jwt
                            .and_then(|j| j.get("audience"))
                            .and_then(Value::as_array)
                            .into_iter()
                            .flatten()
                            .filter_map(Value::as_str)
                            .map(str::to_owned)
                            .collect(),
                    },
                );
            }
        }
        resolved.push(Resource {
            logical_id: logical_id.clone(),
            kind,
            properties,
        });
    }

    let globals = resolver.resolve(
        template
            .get("Globals")
            .and_then(|g| g.get("Function"))
            .unwrap_or(&Value::Null),
    )?;
    let mut functions = Vec::new();
    for resource in resolved
        .iter()
        .filter(|r| r.kind == "AWS::Serverless::Function")
    {
        let mut environment = HashMap::new();
        for source in [&globals, &resource.properties] {
            if let Some(vars) = source
                .pointer("/Environment/Variables")
                .and_then(Value::as_object)
            {
                for (k, v) in vars {
                    environment.insert(k.clone(), resolver.string(v)?);
                }
            }
        }
        let mut triggers = Vec::new();
        for event in resource
            .properties
            .get("Events")
            .and_then(Value::as_object)
            .unwrap_or(&empty)
            .values()
        {
            let properties = event.get("Properties").unwrap_or(&Value::Null);
            match event.get("Type").and_then(Value::as_str) {
                Some("SQS") => triggers.push(Trigger::Sqs {
                    queue_arn: properties
                        .get("Queue")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_owned(),
                    batch_size: properties
                        .get("BatchSize")
                        .and_then(Value::as_i64)
                        .and_then(|b| i32::try_from(b).ok())
                        .unwrap_or(10),
                }),
                Some("HttpApi") => {
                    let api = properties
                        .get("ApiId")
                        .and_then(Value::as_str)
                        .unwrap_or_default();
                    let api_logical = resolver
                        .physical
                        .iter()
                        .find(|(_, p)| p.reference == api)
                        .map(|(id, _)| id.clone())
                        .unwrap_or_default();
                    let authorizer = match properties
                        .pointer("/Auth/Authorizer")
                        .and_then(Value::as_str)
                    {
                        Some("NONE") => None,
                        Some(name) => Some(name.to_owned()),
                        None => default_authorizers.get(&api_logical).cloned(),
                    };
                    triggers.push(Trigger::Http {
                        method: properties
                            .get("Method")
                            .and_then(Value::as_str)
                            .unwrap_or("ANY")
                            .to_uppercase(),
                        path: properties
                            .get("Path")
                            .and_then(Value::as_str)
                            .unwrap_or("/")
                            .to_owned(),
                        authorizer,
                    });
                }
                Some("ScheduleV2") | Some("Schedule") => triggers.push(Trigger::Schedule {
                    expression: properties
                        .get("ScheduleExpression")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_owned(),
                    timezone: properties
                        .get("ScheduleExpressionTimezone")
                        .and_then(Value::as_str)
                        .map(str::to_owned),
                    input: properties
                        .get("Input")
                        .and_then(Value::as_str)
                        .unwrap_or("{}")
                        .to_owned(),
                }),
                _ => {}
            }
        }
        let binary = template
            .pointer(&format!(
                "/Resources/{}/Metadata/BuildProperties/Binary",
                resource.logical_id
            ))
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        functions.push(Function {
            logical_id: resource.logical_id.clone(),
            name: resolver.reference(&resource.logical_id)?,
            binary,
            environment,
            triggers,
        });
    }

    Ok(ResolvedStack {
        stack_name: stack_name.to_owned(),
        resources: resolved,
        functions,
        authorizers,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEMPLATE: &str = r#"
Parameters:
  Sender: { Type: String, Default: crm@x.ru }
Globals:
  Function:
    Environment: { Variables: { RUST_LOG: info } }
Resources:
  Table:
    Type: AWS::DynamoDB::Table
    Properties: { TableName: !Sub "${AWS::StackName}-crm" }
  Queue:
    Type: AWS::SQS::Queue
    Properties:
      RedrivePolicy: { deadLetterTargetArn: !GetAtt Dlq.Arn, maxReceiveCount: 5 }
  Dlq:
    Type: AWS::SQS::Queue
    Properties: { QueueName: !Join ["-", [!Ref "AWS::StackName", dlq]] }
  Api:
    Type: AWS::Serverless::HttpApi
    Properties:
      Auth:
        DefaultAuthorizer: Jwt
        Authorizers: { Jwt: { JwtConfiguration: { issuer: iss, audience: [aud] } } }
  Fn:
    Type: AWS::Serverless::Function
    Metadata: { BuildProperties: { Binary: fn-bin } }
    Properties:
      Environment:
        Variables:
          TABLE_NAME: !Ref Table
          FROM: !Ref Sender
          ARN: !Sub "${Table.Arn}/index/*"
      Events:
        Q: { Type: SQS, Properties: { Queue: !GetAtt Queue.Arn, BatchSize: 5 } }
        Get: { Type: HttpApi, Properties: { ApiId: !Ref Api, Method: get, Path: "/a/{id}" } }
        Hook: { Type: HttpApi, Properties: { ApiId: !Ref Api, Method: POST, Path: /h, Auth: { Authorizer: NONE } } }
"#;

    #[test]
    fn intrinsics_resolve_for_the_stack() {
        let stack = resolve(
            TEMPLATE,
            "t1",
            &HashMap::from([("Sender".into(), "me@y.ru".into())]),
        )
        .unwrap();
        let function = stack.function("Fn").unwrap();
        assert_eq!(function.binary, "fn-bin");
        assert_eq!(function.name, "t1-Fn");
        assert_eq!(function.environment["TABLE_NAME"], "t1-crm");
        assert_eq!(function.environment["FROM"], "me@y.ru");
        assert_eq!(function.environment["RUST_LOG"], "info");
        assert_eq!(
            function.environment["ARN"],
            "arn:aws:dynamodb:eu-west-1:000000000000:table/t1-crm/index/*"
        );
        assert!(function.triggers.contains(&Trigger::Sqs {
            queue_arn: "arn:aws:sqs:eu-west-1:000000000000:t1-Queue".into(),
            batch_size: 5
        }));
        assert!(function.triggers.contains(&Trigger::Http {
            method: "GET".into(),
            path: "/a/{id}".into(),
            authorizer: Some("Jwt".into())
        }));
        assert!(function.triggers.contains(&Trigger::Http {
            method: "POST".into(),
            path: "/h".into(),
            authorizer: None
        }));
        let queue = stack
            .of_kind("AWS::SQS::Queue")
            .find(|q| q.logical_id == "Queue")
            .unwrap();
        assert_eq!(
            queue
                .properties
                .pointer("/RedrivePolicy/deadLetterTargetArn")
                .unwrap(),
            "arn:aws:sqs:eu-west-1:000000000000:t1-dlq"
        );
        assert_eq!(stack.authorizers["Jwt"].audience, vec!["aud".to_owned()]);
    }

    #[test]
    fn the_real_template_resolves() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../infra/template.yaml");
        let stack = load(&path, "crm-local", &HashMap::new()).unwrap();
        let intake = stack.function("InboundEmailFunction").unwrap();
        assert_eq!(intake.environment["TABLE_NAME"], "crm-local-crm");
        assert_eq!(
            intake.environment["DOCUMENTS_BUCKET"],
            "crm-local-documents-000000000000"
        );
        assert!(stack.of_kind("AWS::SES::ReceiptRule").next().is_some());
    }
}
