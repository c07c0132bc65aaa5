//! Who may do what: the access policy, written once. Two questions, asked in one place
//! each by the API:
//!
//! 1. **May this role use this capability at all?** ([`permits`], the table below; the
//!    route table names one capability per route, and the router asks before any handler
//!    runs.)
//! 2. **Does this employee see this record?** ([`Actor::sees`]: heads their department,
//!    or all when they have none, plus what nobody owns yet; managers what is theirs;
//!    marketing and the warehouse every record of the kinds their capabilities allow.)
//!
//! A manager asking for another manager's counterparty gets its name and owner only (so
//! they can see the client is taken): [`Actor::sees_contacts`].
//!
//! The caller is an *active* employee record whose role matches the token's; the API
//! refuses anyone else before asking either question.

use super::employee::{Employee, Role};
use crate::kernel::{Department, Owner};

/// What a route does, as far as access is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Capability {
    /// List and read inquiries (they carry the person's message).
    ReadInquiries,
    /// Route inquiries to a department and manager.
    RouteInquiries,
    /// Qualify a routed inquiry: a deal, or not a lead.
    QualifyInquiries,
    /// List counterparties: names, kinds and owners, no contacts.
    ListCounterparties,
    /// A counterparty with its contacts (name and owner only when not seen).
    ReadCounterparty,
    /// A counterparty's correspondence (full texts of mail, chats, calls).
    ReadCorrespondence,
    /// Confirm or reject a contact point proposed by an unauthenticated source.
    DecideContactPoints,
    ReadDeals,
    /// Edit a deal, move it through its stages, make its proposal.
    ChangeDeals,
    /// Download a deal's documents.
    ReadDocuments,
    /// A record's audit trail (it holds old and new values).
    ReadAudit,
    ReadTasks,
    CreateTasks,
    CompleteTasks,
    /// Look up the product catalogue.
    ReadProducts,
    /// Create and change products.
    ManageProducts,
    /// Stock balances and what is expiring.
    ReadStock,
    /// Receive goods into stock (the warehouse alone changes stock).
    ReceiveStock,
    /// Customer orders, production and supplier orders, picking lists, who got a batch.
    ReadOrders,
    /// Change production orders (status, readiness, dates).
    UpdateProduction,
    /// Change supplier orders (supplier, ordered, expected date).
    ManageSupply,
    /// Ship orders by scan (stock leaves the warehouse).
    ShipOrders,
    /// Segments, their previews and call tasks, tags, opt-outs.
    ManageSegments,
    /// Export a segment and download its files (contact data leaves the system).
    ExportSegments,
    /// Rename a counterparty, change its company.
    EditCounterparties,
    /// Who the caller is and what they may do; the staff list for pickers (names, roles,
    /// departments). Every employee.
    ReadStaff,
}

impl Capability {
    pub const ALL: [Capability; 26] = [
        Self::ReadInquiries,
        Self::RouteInquiries,
        Self::QualifyInquiries,
        Self::ListCounterparties,
        Self::ReadCounterparty,
        Self::ReadCorrespondence,
        Self::DecideContactPoints,
        Self::ReadDeals,
        Self::ChangeDeals,
        Self::ReadDocuments,
        Self::ReadAudit,
        Self::ReadTasks,
        Self::CreateTasks,
        Self::CompleteTasks,
        Self::ReadProducts,
        Self::ManageProducts,
        Self::ReadStock,
        Self::ReceiveStock,
        Self::ReadOrders,
        Self::UpdateProduction,
        Self::ManageSupply,
        Self::ShipOrders,
        Self::ManageSegments,
        Self::ExportSegments,
        Self::EditCounterparties,
        Self::ReadStaff,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Self::ReadInquiries => "read_inquiries",
            Self::RouteInquiries => "route_inquiries",
            Self::QualifyInquiries => "qualify_inquiries",
            Self::ListCounterparties => "list_counterparties",
            Self::ReadCounterparty => "read_counterparty",
            Self::ReadCorrespondence => "read_correspondence",
            Self::DecideContactPoints => "decide_contact_points",
            Self::ReadDeals => "read_deals",
            Self::ChangeDeals => "change_deals",
            Self::ReadDocuments => "read_documents",
            Self::ReadAudit => "read_audit",
            Self::ReadTasks => "read_tasks",
            Self::CreateTasks => "create_tasks",
            Self::CompleteTasks => "complete_tasks",
            Self::ReadProducts => "read_products",
            Self::ManageProducts => "manage_products",
            Self::ReadStock => "read_stock",
            Self::ReceiveStock => "receive_stock",
            Self::ReadOrders => "read_orders",
            Self::UpdateProduction => "update_production",
            Self::ManageSupply => "manage_supply",
            Self::ShipOrders => "ship_orders",
            Self::ManageSegments => "manage_segments",
            Self::ExportSegments => "export_segments",
            Self::EditCounterparties => "edit_counterparties",
            Self::ReadStaff => "read_staff",
        }
    }
}

/// Whether `role` may use `capability` at all. Record scope comes on top
/// ([`Actor::sees`]). Marketing: counterparties and contacts for segments, deals' stages,
/// "call client" tasks, no correspondence. The warehouse: counterparties' names, deals
/// and their documents for shipping, its own tasks, no correspondence; it alone changes
/// stock (receipts, shipments). Production: the orders and the production orders it
/// updates. Heads and managers read orders; heads also keep supplier orders.
pub fn permits(role: Role, capability: Capability) -> bool {
    use Capability::*;
    match role {
        Role::Admin => true,
        Role::Head => !matches!(capability, ReceiveStock | ShipOrders | UpdateProduction),
        Role::Manager => !matches!(
            capability,
            RouteInquiries
                | ManageProducts
                | ReceiveStock
                | ShipOrders
                | UpdateProduction
                | ManageSupply
                | ManageSegments
                | ExportSegments
        ),
        Role::Marketer => matches!(
            capability,
            ListCounterparties
                | ReadCounterparty
                | ReadDeals
                | ReadTasks
                | CreateTasks
                | CompleteTasks
                | ReadProducts
                | ManageSegments
                | ExportSegments
                | ReadStaff
        ),
        Role::Warehouse => matches!(
            capability,
            ListCounterparties
                | ReadCounterparty
                | ReadDeals
                | ReadDocuments
                | ReadTasks
                | CompleteTasks
                | ReadProducts
                | ReadStock
                | ReceiveStock
                | ReadOrders
                | ManageSupply
                | ShipOrders
                | ReadStaff
        ),
        Role::Production => matches!(
            capability,
            ReadTasks
                | CompleteTasks
                | ReadProducts
                | ReadStock
                | ReadOrders
                | UpdateProduction
                | ReadStaff
        ),
    }
}

/// The employee behind a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub id: String,
    pub role: Role,
    /// A head's department; `None` for a head of all departments.
    pub department: Option<Department>,
}

impl Actor {
    pub fn of(employee: &Employee) -> Self {
        Self {
            id: employee.id.clone(),
            role: employee.role,
            department: employee.department,
        }
    }

    pub fn may(&self, capability: Capability) -> bool {
        permits(self.role, capability)
    }

    /// Whether the record is within this employee's scope.
    pub fn sees(&self, owner: Owner<'_>) -> bool {
        match self.role {
            Role::Admin | Role::Marketer | Role::Warehouse | Role::Production => true,
            Role::Head => match (self.department, owner.department) {
                (None, _) | (_, None) => true,
                (Some(mine), Some(theirs)) => mine == theirs,
            },
            Role::Manager => owner.manager_id == Some(self.id.as_str()),
        }
    }

    /// Whether every record is within this employee's scope, whoever owns it: then no
    /// owner needs reading to answer [`Actor::sees`].
    pub fn sees_all(&self) -> bool {
        match self.role {
            Role::Admin | Role::Marketer | Role::Warehouse | Role::Production => true,
            Role::Head => self.department.is_none(),
            Role::Manager => false,
        }
    }

    /// Whether this employee sees a counterparty's contacts, not just its name and owner.
    pub fn sees_contacts(&self, owner: Owner<'_>) -> bool {
        self.may(Capability::ReadCounterparty)
            && match self.role {
                Role::Warehouse | Role::Production => false,
                _ => self.sees(owner),
            }
    }

    pub fn is_head(&self) -> bool {
        matches!(self.role, Role::Head | Role::Admin)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn actor(role: Role, department: Option<Department>) -> Actor {
        Actor {
            id: "me".into(),
            role,
            department,
        }
    }

    const MINE: Owner<'static> = Owner {
        manager_id: Some("me"),
        department: Some(Department::High),
    };
    const THEIRS: Owner<'static> = Owner {
        manager_id: Some("other"),
        department: Some(Department::Thermal),
    };
    const UNROUTED: Owner<'static> = Owner {
        manager_id: None,
        department: None,
    };

    #[test]
    fn who_sees_all_sees_every_owner_and_the_others_miss_one() {
        for role in Role::ALL {
            for department in [None, Some(Department::High)] {
                let actor = actor(role, department);
                let every = [MINE, THEIRS, UNROUTED].into_iter().all(|o| actor.sees(o));
                assert_eq!(actor.sees_all(), every, "{role:?} {department:?}");
            }
        }
    }

    #[test]
    fn heads_see_their_department_and_what_is_not_routed_yet() {
        let head = actor(Role::Head, Some(Department::High));
        assert!(head.sees(MINE));
        assert!(!head.sees(THEIRS));
        assert!(head.sees(UNROUTED));
        assert!(actor(Role::Head, None).sees(THEIRS));
    }

    #[test]
    fn managers_see_their_own_and_only_names_of_others() {
        let manager = actor(Role::Manager, Some(Department::High));
        assert!(manager.sees(MINE));
        assert!(!manager.sees(THEIRS));
        assert!(!manager.sees(UNROUTED));
        assert!(!manager.sees_contacts(THEIRS));
        assert!(manager.may(Capability::ListCounterparties));
        assert!(!manager.may(Capability::RouteInquiries));
    }

    #[test]
    fn marketing_and_the_warehouse_never_read_correspondence() {
        for role in [Role::Marketer, Role::Warehouse, Role::Production] {
            for capability in [
                Capability::ReadInquiries,
                Capability::ReadCorrespondence,
                Capability::ReadAudit,
                Capability::ChangeDeals,
                Capability::QualifyInquiries,
            ] {
                assert!(!permits(role, capability), "{role} {capability:?}");
            }
        }
        assert!(actor(Role::Marketer, None).sees_contacts(THEIRS));
        assert!(!actor(Role::Warehouse, None).sees_contacts(THEIRS));
        assert!(!actor(Role::Production, None).sees_contacts(THEIRS));
    }

    #[test]
    fn only_the_warehouse_moves_stock_and_only_production_updates_production() {
        for role in Role::ALL {
            let stock = permits(role, Capability::ReceiveStock);
            assert_eq!(stock, permits(role, Capability::ShipOrders), "{role}");
            assert_eq!(
                stock,
                matches!(role, Role::Warehouse | Role::Admin),
                "{role}"
            );
            assert_eq!(
                permits(role, Capability::UpdateProduction),
                matches!(role, Role::Production | Role::Admin),
                "{role}"
            );
        }
        assert!(permits(Role::Manager, Capability::ReadOrders));
        for role in Role::ALL {
            assert!(
                permits(role, Capability::ReadStaff),
                "everyone knows who they are: {role}"
            );
        }
        for role in Role::ALL {
            assert_eq!(
                permits(role, Capability::ExportSegments),
                matches!(role, Role::Marketer | Role::Head | Role::Admin),
                "only marketers, heads and admins export: {role}"
            );
        }
        assert!(!permits(Role::Marketer, Capability::ReadOrders));
    }
}
