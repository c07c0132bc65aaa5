//! Typed configuration read once at cold start from the environment variables that
//! `infra/template.yaml` sets. Every missing or malformed variable is reported at once.

use crate::adapters::{AwsClients, DynamoStore, SesNotifier};
use crm_domain::party::EmailAddress;
use crm_domain::templates::Links;
use std::collections::HashMap;

/// A configuration problem found at start-up: the function must not serve with it.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("invalid configuration: {}", .problems.join("; "))]
pub struct ConfigError {
    pub problems: Vec<String>,
}

/// Reads variables from a map (the process environment, or the template's resolved
/// `Environment` in local runs and tests), collecting every problem.
pub struct EnvReader<'a> {
    vars: &'a HashMap<String, String>,
    problems: Vec<String>,
}

impl<'a> EnvReader<'a> {
    pub fn new(vars: &'a HashMap<String, String>) -> Self {
        Self {
            vars,
            problems: Vec::new(),
        }
    }

    pub fn required(&mut self, name: &str) -> String {
        match self.vars.get(name).map(|v| v.trim()) {
            Some(value) if !value.is_empty() => value.to_owned(),
            _ => {
                self.problems.push(format!("{name} is not set"));
                String::new()
            }
        }
    }

    pub fn optional(&self, name: &str) -> Option<String> {
        self.vars
            .get(name)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    }

    /// An email address. When it is missing or invalid the problem is recorded and an
    /// unset address returned, which `finish` never lets through.
    pub fn email(&mut self, name: &str) -> EmailAddress {
        let raw = self.required(name);
        if raw.is_empty() {
            return EmailAddress::unset();
        }
        EmailAddress::parse(&raw).unwrap_or_else(|| {
            self.problems
                .push(format!("{name} is not an email address"));
            EmailAddress::unset()
        })
    }

    pub fn url(&mut self, name: &str) -> String {
        let raw = self.required(name);
        let is_http = raw.starts_with("https://") || raw.starts_with("http://");
        if !raw.is_empty() && !is_http {
            self.problems.push(format!("{name} must be an http(s) URL"));
        }
        raw.trim_end_matches('/').to_owned()
    }

    pub fn finish(self) -> Result<(), ConfigError> {
        if self.problems.is_empty() {
            Ok(())
        } else {
            Err(ConfigError {
                problems: self.problems,
            })
        }
    }
}

/// What every function reads: the table all state lives in.
#[derive(Debug, Clone)]
pub struct BaseConfig {
    pub table_name: String,
}

impl BaseConfig {
    pub fn read(env: &mut EnvReader<'_>) -> Self {
        Self {
            table_name: env.required("TABLE_NAME"),
        }
    }

    /// The store of the function's table.
    pub fn store(&self, clients: &AwsClients) -> DynamoStore {
        DynamoStore::new(clients.dynamodb.clone(), &self.table_name)
    }
}

/// What a function that emails staff reads: the verified sender, and the app's address
/// for links in the emails.
#[derive(Debug, Clone)]
pub struct StaffMail {
    pub notify_from: EmailAddress,
    pub links: Links,
}

impl StaffMail {
    pub fn read(env: &mut EnvReader<'_>) -> Self {
        Self {
            notify_from: env.email("NOTIFY_FROM"),
            links: Links {
                app_base_url: env.url("APP_BASE_URL"),
            },
        }
    }

    /// The SES notifier sending from the configured address.
    pub fn notifier(&self, clients: &AwsClients) -> SesNotifier {
        SesNotifier::new(clients.ses.clone(), self.notify_from.clone())
    }
}

/// The process environment as a map.
pub fn process_env() -> HashMap<String, String> {
    std::env::vars().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_problem_is_reported_at_once() {
        let vars = HashMap::from([
            ("FROM".to_owned(), "not-an-email".to_owned()),
            ("URL".to_owned(), "ftp://x".to_owned()),
        ]);
        let mut env = EnvReader::new(&vars);
        env.required("TABLE_NAME");
        env.email("FROM");
        env.url("URL");
        let error = env.finish().unwrap_err();
        assert_eq!(error.problems.len(), 3, "{error}");
    }
}
