//! A report's breakdowns: per person (pages by hour class and week, acknowledgements,
//! resolutions) and per alert key (the noisiest), each counted along an index in its own
//! order.

use super::*;

/// Each person's pages, acknowledgements and resolutions in the period, counted along
/// the person-ordered indexes: for each person a seek to the period (pages through the
/// weeks it touches), so the counting is neither a sort nor a scan of all time.
impl Store {
    pub(super) async fn responder_counts(
        &self,
        period: Period,
        filter: &ReportFilter,
    ) -> Result<Vec<(UserId, ResponderCounts)>, StoreError> {
        let (from, to) = (period.from.as_millis(), period.to.as_millis());
        let mut people: BTreeMap<UserId, ResponderCounts> = BTreeMap::new();
        let people_sql = "f.user_id IN (SELECT id FROM users)";
        // Local weeks are within a day of UTC ones: a week either side is ample.
        let weeks = (
            from.div_euclid(DAY_MILLIS) - 14,
            to.div_euclid(DAY_MILLIS) + 7,
        );
        let (scope, mut values) = scope_sql("f.paged_at", from, to, filter);
        values.splice(0..0, [Val::Int(weeks.0), Val::Int(weeks.1)]);
        let sql = format!(
            "SELECT f.user_id, f.page_class, f.page_week, COUNT(*) AS n FROM responder_facts f \
         WHERE {people_sql} AND f.page_class IN ('business', 'off', 'sleep') \
         AND f.page_week >= ? AND f.page_week <= ? AND {scope} \
         GROUP BY f.user_id, f.page_class, f.page_week"
        );
        for r in self.rows(sql, values).await? {
            let user: UserId = parse_col(&r, "user_id", str::parse)?;
            let class: String = col(&r, "page_class")?;
            let week: i64 = col(&r, "page_week")?;
            people
                .entry(user)
                .or_default()
                .sorted_pages
                .push((class, week, count(&r, "n")?));
        }
        let (scope, values) = scope_sql("f.paged_at", from, to, filter);
        let sql = format!(
            "SELECT f.user_id, f.paged_at FROM responder_facts f \
         WHERE f.paged_at IS NOT NULL AND f.page_class IS NULL AND {scope}"
        );
        for r in self.rows(sql, values).await? {
            let user: UserId = parse_col(&r, "user_id", str::parse)?;
            people
                .entry(user)
                .or_default()
                .unsorted_pages
                .push(Timestamp::from_millis(col(&r, "paged_at")?));
        }
        for column in ["acknowledged_at", "resolved_at"] {
            let (scope, values) = scope_sql(&format!("f.{column}"), from, to, filter);
            let sql = format!(
                "SELECT f.user_id, COUNT(*) AS n FROM responder_facts f \
             WHERE {people_sql} AND {scope} GROUP BY f.user_id"
            );
            for r in self.rows(sql, values).await? {
                let user: UserId = parse_col(&r, "user_id", str::parse)?;
                let entry = people.entry(user).or_default();
                let n = count(&r, "n")?;
                if column == "acknowledged_at" {
                    entry.acknowledged = n;
                } else {
                    entry.resolved = n;
                }
            }
        }
        Ok(people.into_iter().collect())
    }

    /// The ten alert keys with the most incidents. The roll-ups give the top ten of the
    /// whole days; a key that also has incidents in the part-days, or open incidents with
    /// newer alerts, is counted in full before the ten are chosen.
    pub(super) async fn noisy_keys(
        &self,
        parts: &[Part],
        more: &MoreAlerts,
    ) -> Result<Vec<NoiseCounts>, StoreError> {
        let mut keys: BTreeMap<(ServiceId, String), NoiseCounts> = BTreeMap::new();
        let mut add = |n: NoiseCounts| {
            let key = (n.service, n.dedup_key.clone().unwrap_or_default());
            let total = keys.entry(key).or_insert_with(|| NoiseCounts {
                incidents: 0,
                alerts: 0,
                flaps: 0,
                ..n.clone()
            });
            total.incidents += n.incidents;
            total.alerts += n.alerts;
            total.flaps += n.flaps;
        };
        let sums = "CAST(SUM(f.incidents) AS BIGINT) AS incidents, CAST(SUM(f.alerts) AS BIGINT) AS alerts, \
                CAST(SUM(f.reopens) AS BIGINT) AS flaps";
        let rolled = parts.iter().find(|p| p.rolled);
        let mut in_top: Vec<(ServiceId, String)> = Vec::new();
        if let Some(part) = rolled {
            let sql = format!(
                "SELECT f.service_id, f.dedup_key, {sums} FROM report_keys f WHERE {} \
             GROUP BY f.service_id, f.dedup_key \
             ORDER BY SUM(f.incidents) DESC, SUM(f.alerts) DESC, f.service_id, f.dedup_key \
             LIMIT {NOISY_TOP}",
                part.ordered_scope
            );
            for r in self.rows(sql, part.values.clone()).await? {
                let n = key_counts(&r)?;
                in_top.push((n.service, n.dedup_key.clone().unwrap_or_default()));
                add(n);
            }
        }
        // Keys with incidents in the part-days, and open incidents' newer alerts.
        let mut touched: Vec<(ServiceId, String)> = Vec::new();
        for part in parts.iter().filter(|p| !p.rolled) {
            let sql = format!(
                "SELECT f.service_id, f.dedup_key, COUNT(*) AS incidents, \
             CAST(SUM(f.alerts) AS BIGINT) AS alerts, CAST(SUM(f.reopens) AS BIGINT) AS flaps \
             FROM incident_facts f WHERE {} GROUP BY f.service_id, f.dedup_key",
                part.scope
            );
            for r in self.rows(sql, part.values.clone()).await? {
                let n = key_counts(&r)?;
                touched.push((n.service, n.dedup_key.clone().unwrap_or_default()));
                add(n);
            }
        }
        for (_, service, key, added) in more {
            touched.push((*service, key.clone()));
            add(NoiseCounts {
                service: *service,
                service_name: String::new(),
                dedup_key: Some(key.clone()),
                incidents: 0,
                alerts: *added,
                flaps: 0,
            });
        }
        touched.sort();
        touched.dedup();
        // Their whole days, unless the roll-ups' top ten counted them already.
        if let Some(part) = rolled {
            let missing: Vec<&(ServiceId, String)> =
                touched.iter().filter(|k| !in_top.contains(k)).collect();
            for chunk in missing.chunks(200) {
                let pairs =
                    vec!["(f.service_id = ? AND f.dedup_key = ?)"; chunk.len()].join(" OR ");
                let sql = format!(
                    "SELECT f.service_id, f.dedup_key, {sums} FROM report_keys f WHERE {} AND ({pairs}) \
                 GROUP BY f.service_id, f.dedup_key",
                    part.scope
                );
                let mut values = part.values.clone();
                for (service, key) in chunk {
                    values.push(Val::Text(service.to_string()));
                    values.push(Val::Text(key.clone()));
                }
                for r in self.rows(sql, values).await? {
                    add(key_counts(&r)?);
                }
            }
        }
        let mut list: Vec<NoiseCounts> = keys.into_values().filter(|n| n.incidents > 0).collect();
        rank(&mut list);
        Ok(list)
    }
}
