//! Counts the HTTP requests the SDK clients send, per service and operation. Handlers
//! log the count per event at debug level; tests assert it exactly, which keeps the
//! number of AWS round trips per event a designed figure rather than an accident.

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextRef;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};

/// A shared counter of transmitted requests (retries count: each is a round trip).
#[derive(Clone, Debug, Default)]
pub struct RoundTrips {
    counts: Arc<Mutex<BTreeMap<String, usize>>>,
}

impl RoundTrips {
    /// Requests per `Service.Operation` since the last [`take`](Self::take).
    pub fn snapshot(&self) -> BTreeMap<String, usize> {
        self.counts
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Returns the counts and starts again from zero.
    pub fn take(&self) -> BTreeMap<String, usize> {
        std::mem::take(&mut *self.counts.lock().unwrap_or_else(PoisonError::into_inner))
    }

    pub fn total(&self) -> usize {
        self.snapshot().values().sum()
    }
}

impl Intercept for RoundTrips {
    fn name(&self) -> &'static str {
        "RoundTrips"
    }

    fn read_before_transmit(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let operation = cfg
            .load::<Metadata>()
            .map(|m| format!("{}.{}", m.service(), m.name()))
            .unwrap_or_else(|| "unknown".to_owned());
        *self
            .counts
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(operation)
            .or_default() += 1;
        Ok(())
    }
}
