//! Status pages and their components, as writes.

use super::*;

impl Builder<'_> {
    pub(super) fn page(&mut self, doc: &StatusPageDoc) {
        let Some(id) = self.ids.pages.get(&doc.slug).copied() else {
            return;
        };
        let at = format!("status page {}", doc.slug);
        let Some(page) = self.ok(
            &at,
            parse_page(&StatusPageInput {
                slug: doc.slug.clone(),
                name: doc.name.clone(),
                host: doc.host.clone(),
                time_zone: Some(doc.time_zone.clone()),
                auto_publish: doc.auto_publish,
                remind_every_minutes: Some(doc.remind_every_minutes),
            }),
        ) else {
            return;
        };
        let existing = self.current.pages.iter().find(|p| p.page.id == id);
        match existing {
            None => self.out.push(ConfigWrite::CreateStatusPage { id, page }),
            Some(p) => {
                let q = &p.page;
                let same = (q.name.as_str(), &q.host, q.time_zone.as_str())
                    == (page.name.as_str(), &page.host, page.time_zone.as_str())
                    && (q.auto_publish, q.remind_every_minutes)
                        == (page.auto_publish, page.remind_every_minutes);
                if !same {
                    self.out.push(ConfigWrite::UpdateStatusPage { id, page });
                }
            }
        }
        let components = existing
            .map(|p| p.components.as_slice())
            .unwrap_or_default();
        let component_ids: HashMap<&str, ComponentId> = doc
            .components
            .iter()
            .map(|c| {
                let id = components
                    .iter()
                    .find(|e| e.name == c.name)
                    .map_or_else(|| self.fresh.id(ComponentId::nth), |e| e.id);
                (c.name.as_str(), id)
            })
            .collect();
        // Groups first: a component's group must be there before it.
        let mut order: Vec<(usize, &config_doc::ComponentDoc)> =
            doc.components.iter().enumerate().collect();
        order.sort_by_key(|(_, c)| !c.is_group);
        for (index, c) in order {
            let here = format!("{at}: component {}", c.name);
            let Some(name) = self.ok(&here, Title::parse("name", &c.name)) else {
                continue;
            };
            let service = match &c.service {
                Some(s) => match self.ids.services.get(s) {
                    Some(id) => Some(*id),
                    None => {
                        self.problems.push(format!("{here}: no service {s}"));
                        continue;
                    }
                },
                None => None,
            };
            let component = NewComponent {
                name,
                description: c.description.clone(),
                group: c
                    .group
                    .as_deref()
                    .and_then(|g| component_ids.get(g).copied()),
                is_group: c.is_group,
                status: ComponentStatus::Operational,
                only_show_if_degraded: c.only_show_if_degraded,
                service,
            };
            let position = i64::try_from(index).unwrap_or(i64::MAX - 1) + 1;
            let id = component_ids[c.name.as_str()];
            match components.iter().find(|e| e.id == id) {
                None => self.out.push(ConfigWrite::CreateComponent {
                    id,
                    page: self.ids.pages[&doc.slug],
                    component,
                    position,
                }),
                Some(e) => {
                    let same = (
                        e.group,
                        e.is_group,
                        e.description.as_str(),
                        e.only_show_if_degraded,
                        e.service,
                        e.position,
                    ) == (
                        component.group,
                        component.is_group,
                        component.description.as_str(),
                        component.only_show_if_degraded,
                        component.service,
                        position,
                    );
                    if !same {
                        self.out.push(ConfigWrite::UpdateComponent {
                            id,
                            page: self.ids.pages[&doc.slug],
                            component,
                            position,
                        });
                    }
                }
            }
        }
    }
}
