//! Sales: deals and their stage machine, the routing rule for inquiries, tasks, the deal
//! events every change emits, and the commercial proposal.

pub mod dashboard;
pub mod deal;
pub mod event;
pub mod proposal;
pub mod routing;
pub mod task;

pub use deal::{
    Deal, DealContact, DealEdit, DealItem, DealStage, DealTerms, DocumentRef, EditRefusal,
    EquipmentType, NewDeal, NextMove, Refusal, ServiceDecision, check_transition,
    creation_problems, next_moves, next_stages,
};
pub use event::{DealEvent, DealEventKind};
pub use task::{Task, TaskKind, TaskStatus};
