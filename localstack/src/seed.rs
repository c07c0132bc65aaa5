//! The seed file (`localstack/seed.json`): the three departments and a few employees, so a
//! fresh local stack has heads to notify and managers to route to.

use crm_domain::staff::{Department, Employee};
use crm_shared::adapters::DynamoStore;
use crm_shared::ports::StoreError;
use serde::Deserialize;
use std::path::Path;

/// The seed file's content.
#[derive(Debug, Deserialize)]
pub struct Seed {
    pub employees: Vec<Employee>,
}

/// Why seeding failed.
#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    #[error("cannot read the seed file {0}: {1}")]
    Read(String, std::io::Error),
    #[error("the seed file is invalid: {0}")]
    Invalid(#[from] serde_json::Error),
    #[error(transparent)]
    Store(#[from] StoreError),
}

pub fn read(path: &Path) -> Result<Seed, SeedError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| SeedError::Read(path.display().to_string(), e))?;
    Ok(serde_json::from_str(&text)?)
}

/// Writes departments and employees; running it again changes nothing.
pub async fn apply(seed: &Seed, store: &DynamoStore) -> Result<(), SeedError> {
    for department in Department::ALL {
        store.put_department(department).await?;
    }
    for employee in &seed.employees {
        store.put_employee(employee).await?;
    }
    Ok(())
}
