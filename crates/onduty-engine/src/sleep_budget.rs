//! On-call health: a person paged in sleep hours (22:00–08:00 on their clock) more often in
//! a week than the installation's budget allows has their team's admins told, once per
//! person and week, with the incidents that woke them, through the admins' contact
//! methods. Looked at once a minute. Load who is over; plan the notices (pure); apply.

use std::collections::HashMap;
use std::time::Duration;

use onduty_core::report::date_of_day;
use onduty_core::{Timestamp, UserId};
use onduty_store::sleep_budget::{BudgetNotice, OverBudget};

use crate::directory::{Directory, Person};
use crate::{Engine, EngineError};

const MARK: &str = "sleep_budget";
const EVERY: Duration = Duration::from_secs(60);
const DAY_MILLIS: i64 = 86_400_000;

pub(crate) async fn run(engine: &Engine, now: Timestamp) -> Result<usize, EngineError> {
    let store = &engine.store;
    if let Some(last) = store.engine_mark(MARK).await?
        && now < last.saturating_add(EVERY)
    {
        return Ok(0);
    }
    store.set_engine_mark(MARK, now).await?;
    let budget = store.org_settings().await?.sleep_page_budget;
    // This week and last, on anyone's clock.
    let since = now.as_millis().div_euclid(DAY_MILLIS) - 14;
    let over = store.over_sleep_budget(since, budget).await?;
    if over.is_empty() {
        return Ok(0);
    }
    let mut admins: HashMap<UserId, Vec<UserId>> = HashMap::new();
    let mut everyone: Vec<UserId> = Vec::new();
    for o in &over {
        let told = store.admins_for(o.user).await?;
        everyone.push(o.user);
        everyone.extend(told.iter().copied());
        admins.insert(o.user, told);
    }
    everyone.sort();
    everyone.dedup();
    let mut people = Directory::default();
    people.load_people(store, &everyone).await?;
    let notices = plan(&over, &admins, &people.people, budget);
    store.queue_budget_notices(&notices, now).await?;
    Ok(notices.len())
}

/// A notice for each person over the budget, to their admins' immediate methods.
fn plan(
    over: &[OverBudget],
    admins: &HashMap<UserId, Vec<UserId>>,
    people: &HashMap<UserId, Person>,
    budget: u32,
) -> Vec<BudgetNotice> {
    over.iter()
        .map(|o| {
            let name = people
                .get(&o.user)
                .map(|p| p.name.clone())
                .filter(|n| !n.is_empty())
                .unwrap_or_else(|| "Someone".to_owned());
            let week = date_of_day(o.week)
                .map(|d| d.strftime("%-d %B %Y").to_string())
                .unwrap_or_default();
            let incidents: Vec<String> = o
                .incidents
                .iter()
                .map(|(n, summary)| format!("#{} {summary}", n.0))
                .collect();
            BudgetNotice {
                about: o.user,
                week: o.week,
                to: admins
                    .get(&o.user)
                    .into_iter()
                    .flatten()
                    .map(|a| {
                        let methods = people
                            .get(a)
                            .map(Person::immediate_methods)
                            .unwrap_or_default();
                        (*a, methods)
                    })
                    .collect(),
                text: format!(
                    "On-call health: {name} was paged {} times in sleep hours (22:00–08:00 their time) \
                     in the week of {week}, over the budget of {budget}: {}.",
                    o.incidents.len(),
                    incidents.join("; ")
                ),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use onduty_core::IncidentNumber;

    use super::*;

    #[test]
    fn the_admins_are_told_who_was_woken_how_often_and_by_what() {
        let at = Timestamp::from_millis(1_774_000_000_000);
        let (alice, ada) = (UserId::new(at), UserId::new(at));
        let over = [OverBudget {
            user: alice,
            week: 20535,
            incidents: vec![
                (IncidentNumber(2), "Disk full".to_owned()),
                (IncidentNumber(3), "Primary down".to_owned()),
                (IncidentNumber(4), "Backups failing".to_owned()),
            ],
        }];
        let mut people = HashMap::new();
        people.insert(
            alice,
            Person {
                name: "Alice".to_owned(),
                ..Person::default()
            },
        );
        let admins = HashMap::from([(alice, vec![ada])]);
        let notices = plan(&over, &admins, &people, 2);
        assert_eq!(notices.len(), 1);
        assert_eq!(
            notices[0].text,
            "On-call health: Alice was paged 3 times in sleep hours (22:00–08:00 their time) in \
             the week of 23 March 2026, over the budget of 2: #2 Disk full; #3 Primary down; \
             #4 Backups failing."
        );
        // Ada is unknown to the directory: told of it through no method.
        assert_eq!(notices[0].to, vec![(ada, vec![])]);
    }
}
