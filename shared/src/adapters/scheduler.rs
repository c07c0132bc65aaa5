//! Segment schedules in EventBridge Scheduler: one schedule per segment, named
//! `<prefix>-segment-<id>`, in Moscow time, sending `{"segment_id", "scheduled_at"}` (the
//! scheduler fills in the time it fired for) to the exports queue under a role that may
//! only send there.

use crate::marketing::ports::SegmentSchedules;
use crate::ports::BlobError;
use aws_sdk_scheduler::types::{FlexibleTimeWindow, FlexibleTimeWindowMode, Target};
use crm_domain::marketing::ExportSchedule;
use crm_domain::marketing::export::SCHEDULE_TIME_ZONE;

/// Where and as whom segment schedules fire.
#[derive(Debug, Clone)]
pub struct SegmentScheduler {
    pub client: aws_sdk_scheduler::Client,
    /// Schedules are named `<prefix>-segment-<segment id>` (the stack's name).
    pub prefix: String,
    pub exports_queue_arn: String,
    pub role_arn: String,
}

fn failed(operation: &'static str, message: String) -> BlobError {
    BlobError::Service {
        operation,
        message,
        retryable: true,
    }
}

impl SegmentScheduler {
    pub fn name(&self, segment_id: &str) -> String {
        // Schedule names hold at most 64 characters.
        let name = format!("{}-segment-{segment_id}", self.prefix);
        name.chars().take(64).collect()
    }
}

impl SegmentSchedules for SegmentScheduler {
    async fn put(&self, segment_id: &str, schedule: &ExportSchedule) -> Result<(), BlobError> {
        let name = self.name(segment_id);
        let input = serde_json::json!({
            "segment_id": segment_id,
            "scheduled_at": "<aws.scheduler.scheduled-time>",
        })
        .to_string();
        let target = Target::builder()
            .arn(&self.exports_queue_arn)
            .role_arn(&self.role_arn)
            .input(input)
            .build()
            .map_err(|e| failed("CreateSchedule", e.to_string()))?;
        let window = FlexibleTimeWindow::builder()
            .mode(FlexibleTimeWindowMode::Off)
            .build()
            .map_err(|e| failed("CreateSchedule", e.to_string()))?;
        let created = self
            .client
            .create_schedule()
            .name(&name)
            .schedule_expression(schedule.expression())
            .schedule_expression_timezone(SCHEDULE_TIME_ZONE)
            .flexible_time_window(window.clone())
            .target(target.clone())
            .send()
            .await;
        match created {
            Ok(_) => Ok(()),
            Err(error)
                if error
                    .as_service_error()
                    .is_some_and(|e| e.is_conflict_exception()) =>
            {
                self.client
                    .update_schedule()
                    .name(&name)
                    .schedule_expression(schedule.expression())
                    .schedule_expression_timezone(SCHEDULE_TIME_ZONE)
                    .flexible_time_window(window)
                    .target(target)
                    .send()
                    .await
                    .map_err(|e| {
                        failed(
                            "UpdateSchedule",
                            aws_sdk_scheduler::error::DisplayErrorContext(&e).to_string(),
                        )
                    })?;
                Ok(())
            }
            Err(error) => Err(failed(
                "CreateSchedule",
                aws_sdk_scheduler::error::DisplayErrorContext(&error).to_string(),
            )),
        }
    }

    async fn remove(&self, segment_id: &str) -> Result<(), BlobError> {
        match self
            .client
            .delete_schedule()
            .name(self.name(segment_id))
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(error)
                if error
                    .as_service_error()
                    .is_some_and(|e| e.is_resource_not_found_exception()) =>
            {
                Ok(())
            }
            Err(error) => Err(failed(
                "DeleteSchedule",
                aws_sdk_scheduler::error::DisplayErrorContext(&error).to_string(),
            )),
        }
    }
}
