//! An in-memory [`IntakeStore`] with the DynamoDB adapter's semantics (all-or-nothing
//! writes, one owner per contact point, one record per event), for unit tests of the
//! intake rules. Integration tests run the real adapter against DynamoDB Local.

use super::{
    ContactPointOwner, HistoryEntry, IntakeLookup, IntakeRecord, IntakeStore, NewLead, StoreError,
    WriteOutcome,
};
use crate::domain::{ContactPoint, Counterparty, Employee, Inquiry, Interaction, Role};
use chrono::Utc;
use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

#[derive(Debug, Default)]
struct State {
    records: HashMap<String, IntakeRecord>,
    owners: HashMap<ContactPoint, ContactPointOwner>,
    parties: HashMap<String, Counterparty>,
    inquiries: HashMap<String, Inquiry>,
    interactions: Vec<Interaction>,
    employees: HashMap<String, Employee>,
}

/// The fake store. Reads of its contents are for assertions.
#[derive(Debug, Default)]
pub struct MemoryStore {
    state: Mutex<State>,
}

impl MemoryStore {
    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub fn add_employee(&self, employee: Employee) {
        self.state().employees.insert(employee.id.clone(), employee);
    }

    pub fn set_responsible_manager(&self, party_id: &str, manager_id: &str) {
        if let Some(party) = self.state().parties.get_mut(party_id) {
            party.responsible_manager_id = Some(manager_id.to_owned());
        }
    }

    pub fn parties(&self) -> Vec<Counterparty> {
        self.state().parties.values().cloned().collect()
    }

    pub fn inquiries(&self) -> Vec<Inquiry> {
        self.state().inquiries.values().cloned().collect()
    }

    pub fn interactions(&self) -> Vec<Interaction> {
        self.state().interactions.clone()
    }

    pub fn records(&self) -> Vec<IntakeRecord> {
        self.state().records.values().cloned().collect()
    }

    pub fn owner(&self, point: &ContactPoint) -> Option<ContactPointOwner> {
        self.state().owners.get(point).cloned()
    }
}

impl IntakeStore for MemoryStore {
    async fn lookup(
        &self,
        event_key: &str,
        points: &[ContactPoint],
    ) -> Result<IntakeLookup, StoreError> {
        let state = self.state();
        Ok(IntakeLookup {
            record: state.records.get(event_key).cloned(),
            owners: points
                .iter()
                .filter_map(|p| state.owners.get(p).map(|o| (p.clone(), o.clone())))
                .collect(),
        })
    }

    async fn create_lead(&self, lead: &NewLead) -> Result<WriteOutcome, StoreError> {
        let mut state = self.state();
        if state.records.contains_key(&lead.record.event_key) {
            return Ok(WriteOutcome::DuplicateEvent);
        }
        if lead
            .contact_points
            .iter()
            .any(|p| state.owners.contains_key(p))
        {
            return Ok(WriteOutcome::ContactPointTaken);
        }
        for point in &lead.contact_points {
            state.owners.insert(
                point.clone(),
                ContactPointOwner {
                    party_id: lead.counterparty.id.clone(),
                    contact_id: lead.contact.id.clone(),
                },
            );
        }
        state
            .records
            .insert(lead.record.event_key.clone(), lead.record.clone());
        state
            .parties
            .insert(lead.counterparty.id.clone(), lead.counterparty.clone());
        state
            .inquiries
            .insert(lead.inquiry.id.clone(), lead.inquiry.clone());
        state.interactions.push(lead.interaction.clone());
        Ok(WriteOutcome::Written)
    }

    async fn append_to_history(&self, entry: &HistoryEntry) -> Result<WriteOutcome, StoreError> {
        let mut state = self.state();
        if state.records.contains_key(&entry.record.event_key) {
            return Ok(WriteOutcome::DuplicateEvent);
        }
        if entry
            .new_contact_points
            .iter()
            .any(|p| state.owners.contains_key(p))
        {
            return Ok(WriteOutcome::ContactPointTaken);
        }
        for point in &entry.new_contact_points {
            state.owners.insert(
                point.clone(),
                ContactPointOwner {
                    party_id: entry.interaction.party_id.clone(),
                    contact_id: entry.contact_id.clone(),
                },
            );
        }
        state
            .records
            .insert(entry.record.event_key.clone(), entry.record.clone());
        state.interactions.push(entry.interaction.clone());
        Ok(WriteOutcome::Written)
    }

    async fn record_event(&self, record: &IntakeRecord) -> Result<WriteOutcome, StoreError> {
        let mut state = self.state();
        if state.records.contains_key(&record.event_key) {
            return Ok(WriteOutcome::DuplicateEvent);
        }
        state
            .records
            .insert(record.event_key.clone(), record.clone());
        Ok(WriteOutcome::Written)
    }

    async fn mark_notified(&self, event_key: &str) -> Result<(), StoreError> {
        if let Some(record) = self.state().records.get_mut(event_key) {
            record.pending_notification = None;
            record.notified_at = Some(Utc::now());
        }
        Ok(())
    }

    async fn counterparty(&self, id: &str) -> Result<Option<Counterparty>, StoreError> {
        Ok(self.state().parties.get(id).cloned())
    }

    async fn employee(&self, id: &str) -> Result<Option<Employee>, StoreError> {
        Ok(self.state().employees.get(id).cloned())
    }

    async fn active_heads(&self) -> Result<Vec<Employee>, StoreError> {
        Ok(self
            .state()
            .employees
            .values()
            .filter(|e| e.active && e.role == Role::Head)
            .cloned()
            .collect())
    }
}
