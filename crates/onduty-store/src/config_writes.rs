//! Configuration written all at once (`onduty apply`): the writes a plan calls for, in
//! one transaction, so that a document is applied whole or not at all. Each write uses
//! the same statement as the door that makes or changes that thing one at a time.

use onduty_core::account::{Team, User};
use onduty_core::chat::ChatChannel;
use onduty_core::contact::{Address, ContactMethod, NotificationRule};
use onduty_core::escalation::Policy;
use onduty_core::schedule::{Override, Schedule};
use onduty_core::service::{Integration, Service};
use onduty_core::{
    ChatChannelId, ComponentId, ContactMethodId, IntegrationId, MaintenanceId, OverrideId,
    PolicyId, ScheduleId, StatusPageId, TeamId, Timestamp, UserId,
};

use crate::heartbeats::{Heartbeat, NewHeartbeat};
use crate::maintenance::MaintenanceWindow;
use crate::status_components::NewComponent;
use crate::status_pages::NewStatusPage;
use crate::{Store, StoreError, begin};

/// One change to the configuration. Ids of things made by earlier writes of the same
/// transaction may be used by later ones.
#[derive(Debug, Clone)]
pub enum ConfigWrite {
    CreateUser(User),
    /// Name, role and time zone (people are known by e-mail, which stays).
    UpdateUser(User),
    SetDisabled {
        user: UserId,
        disabled: bool,
    },
    DeleteUser(UserId),
    /// Unverified; `secret` is a webhook's signing secret.
    CreateContactMethod {
        method: ContactMethod,
        secret: Option<String>,
    },
    /// A new address, to be verified again.
    ChangeAddress {
        method: ContactMethodId,
        address: Address,
    },
    DeleteContactMethod {
        user: UserId,
        method: ContactMethodId,
    },
    /// The person's rules (but those on push subscriptions) become exactly these.
    ReplaceRules {
        user: UserId,
        rules: Vec<NotificationRule>,
    },
    /// A team and its members.
    CreateTeam(Team),
    SetMembers {
        team: TeamId,
        members: Vec<UserId>,
    },
    DeleteTeam(TeamId),
    CreateSchedule(Schedule),
    UpdateSchedule(Schedule),
    DeleteSchedule(ScheduleId),
    AddOverride {
        schedule: ScheduleId,
        entry: Override,
    },
    DeleteOverride {
        schedule: ScheduleId,
        id: OverrideId,
    },
    CreatePolicy(Policy),
    UpdatePolicy(Policy),
    /// Policies deleted together (one may hand over to another).
    DeletePolicies(Vec<PolicyId>),
    CreateService(Service),
    UpdateService(Service),
    CreateIntegration(Integration),
    /// Kind, settings and key.
    UpdateIntegration(Integration),
    DeleteIntegration(IntegrationId),
    CreateHeartbeat(NewHeartbeat),
    /// Expectation and key.
    UpdateHeartbeat(Heartbeat),
    CreateStatusPage {
        id: StatusPageId,
        page: NewStatusPage,
    },
    UpdateStatusPage {
        id: StatusPageId,
        page: NewStatusPage,
    },
    CreateComponent {
        id: ComponentId,
        page: StatusPageId,
        component: NewComponent,
        position: i64,
    },
    UpdateComponent {
        id: ComponentId,
        page: StatusPageId,
        component: NewComponent,
        position: i64,
    },
    AddChatChannel(ChatChannel),
    DeleteChatChannel(ChatChannelId),
    AddMaintenance(MaintenanceWindow),
    /// Ends it now (one to come is cancelled).
    EndMaintenance(MaintenanceId),
}

impl Store {
    /// Carries out `writes` in order in one transaction: all of them, or (on the first
    /// refusal, which is returned) none.
    pub async fn apply_config(
        &self,
        writes: &[ConfigWrite],
        now: Timestamp,
    ) -> Result<(), StoreError> {
        if writes.is_empty() {
            return Ok(());
        }
        let mut conn = self.write_conn().await?;
        let mut tx = begin(&mut conn, self.backend).await?;
        for write in writes {
            apply_one(&mut tx, write, now).await?;
        }
        tx.commit().await?;
        Ok(())
    }
}

async fn apply_one(
    tx: &mut crate::status_components::Tx<'_>,
    write: &ConfigWrite,
    now: Timestamp,
) -> Result<(), StoreError> {
    use crate::{contacts, heartbeats, policies, schedules, services, status_components};
    use crate::{status_pages, teams, users};
    match write {
        ConfigWrite::CreateUser(user) => users::insert_user(tx, user, None).await,
        ConfigWrite::UpdateUser(user) => users::write_user(tx, user).await,
        ConfigWrite::SetDisabled { user, disabled } => {
            users::set_disabled_on(tx, *user, *disabled, now).await
        }
        ConfigWrite::DeleteUser(user) => users::delete_user_on(tx, *user, now).await,
        ConfigWrite::CreateContactMethod { method, secret } => {
            contacts::insert_method(tx, method, secret.clone()).await
        }
        ConfigWrite::ChangeAddress { method, address } => {
            contacts::change_address_on(tx, *method, address).await
        }
        ConfigWrite::DeleteContactMethod { user, method } => {
            contacts::delete_method_on(tx, *user, *method).await
        }
        ConfigWrite::ReplaceRules { user, rules } => {
            // Rules on browsers' push subscriptions are not a document's to replace.
            sqlx::query(
                "DELETE FROM notification_rules WHERE user_id = $1 AND contact_method_id IN \
                 (SELECT id FROM contact_methods WHERE user_id = $1 AND channel <> 'web_push')",
            )
            .bind(user.to_string())
            .execute(&mut **tx)
            .await?;
            for rule in rules {
                contacts::insert_rule(tx, rule, now).await?;
            }
            Ok(())
        }
        ConfigWrite::CreateTeam(team) => {
            teams::insert_team(tx, team).await?;
            teams::set_members_on(tx, team.id, &team.members).await
        }
        ConfigWrite::SetMembers { team, members } => {
            teams::set_members_on(tx, *team, members).await
        }
        ConfigWrite::DeleteTeam(team) => teams::delete_team_on(tx, *team).await,
        ConfigWrite::CreateSchedule(schedule) => {
            schedules::insert_schedule(tx, schedule, now).await
        }
        ConfigWrite::UpdateSchedule(schedule) => schedules::write_schedule(tx, schedule, now).await,
        ConfigWrite::DeleteSchedule(id) => schedules::delete_schedule_on(tx, *id).await,
        ConfigWrite::AddOverride { schedule, entry } => {
            schedules::insert_override(tx, *schedule, entry)
                .await
                .map(|_| ())
        }
        ConfigWrite::DeleteOverride { schedule, id } => {
            schedules::delete_override_on(tx, *schedule, *id).await
        }
        ConfigWrite::CreatePolicy(policy) => policies::insert_policy(tx, policy, now).await,
        ConfigWrite::UpdatePolicy(policy) => policies::write_policy(tx, policy, now).await,
        ConfigWrite::DeletePolicies(ids) => policies::delete_policies_on(tx, ids).await,
        ConfigWrite::CreateService(service) => services::insert_service(tx, service).await,
        ConfigWrite::UpdateService(service) => services::write_service(tx, service).await,
        ConfigWrite::CreateIntegration(i) => services::insert_integration_as(tx, i).await,
        ConfigWrite::UpdateIntegration(i) => services::write_integration(tx, i).await,
        ConfigWrite::DeleteIntegration(id) => services::delete_integration_on(tx, *id).await,
        ConfigWrite::CreateHeartbeat(new) => heartbeats::insert_heartbeat(tx, new, now).await,
        ConfigWrite::UpdateHeartbeat(h) => heartbeats::write_heartbeat(tx, h, now).await,
        ConfigWrite::CreateStatusPage { id, page } => {
            status_pages::insert_page(tx, *id, page, now).await
        }
        ConfigWrite::UpdateStatusPage { id, page } => {
            status_pages::write_page(tx, *id, page, now).await
        }
        ConfigWrite::CreateComponent {
            id,
            page,
            component,
            position,
        } => status_components::insert_component(tx, *id, *page, component, *position, now).await,
        ConfigWrite::AddChatChannel(c) => crate::chat::insert_channel(tx, c, now).await,
        ConfigWrite::DeleteChatChannel(id) => crate::chat::delete_channel_on(tx, *id).await,
        ConfigWrite::AddMaintenance(w) => crate::maintenance::insert_window(tx, w).await,
        ConfigWrite::EndMaintenance(id) => crate::maintenance::end_window_on(tx, *id, now).await,
        ConfigWrite::UpdateComponent {
            id,
            page,
            component,
            position,
        } => status_components::write_component(tx, *id, *page, component, *position, now).await,
    }
}
