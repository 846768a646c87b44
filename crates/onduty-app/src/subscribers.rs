//! Subscribers of a public status page: anyone may ask to be told by e-mail (and must
//! confirm); admins add webhooks and see who subscribed. What a subscriber is sent is
//! queued by the store with the news and sent by the engine.

use onduty_core::audit::Change;
use onduty_core::subscriber::{SubscriberToken, Subscription};
use onduty_core::{ComponentId, SubscriberId};
use onduty_store::status_subscribers::{NewSubscriber, Subscribed, Subscriber};

use crate::people::random;
use crate::status_pages::component_named;
use crate::{Acting, App, AppError};

/// Components one subscriber may choose.
const MOST_COMPONENTS: usize = 100;

/// A webhook subscriber as an admin added it: its secret is shown this once (and never
/// by `Debug`).
pub struct NewWebhook {
    pub subscriber: Subscriber,
    pub secret: String,
}

impl std::fmt::Debug for NewWebhook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewWebhook")
            .field("subscriber", &self.subscriber)
            .finish_non_exhaustive()
    }
}

impl App {
    /// Someone asks to be told of a page's news by e-mail (anyone, no log-in). A
    /// confirmation mail is queued; nothing else reaches them until they follow its link.
    /// The answer is the same whether or not the address was subscribed already, so the
    /// form tells nobody who subscribed.
    pub async fn subscribe_by_email(
        &self,
        page: &str,
        email: &str,
        components: &[String],
    ) -> Result<Subscribed, AppError> {
        if self.providers.email.is_none() {
            return Err(AppError::Unavailable(
                "this server sends no e-mail, so it takes no e-mail subscribers".to_owned(),
            ));
        }
        let page = self.find_status_page(page).await?;
        let subscription = Subscription::parse("email", email)
            .map_err(|e| AppError::Invalid(format!("'email': {e}")))?;
        let components = self.chosen(page.id, components).await?;
        let new = NewSubscriber {
            page: page.id,
            subscription,
            secret: None,
            token: SubscriberToken::from_random(random()),
            components,
            confirmed: false,
        };
        let said = self.store.subscribe(&new, self.now()).await?;
        self.wake_engine();
        Ok(said)
    }

    /// Sends `email` the mail asking to confirm a subscription to `page` (admins, on
    /// someone's behalf): they are told of nothing until they confirm.
    pub async fn invite_subscriber(
        &self,
        acting: &Acting,
        page: &str,
        email: &str,
        components: &[String],
    ) -> Result<Subscribed, AppError> {
        acting.require_admin()?;
        self.recorded(
            acting,
            "subscriber.invite",
            page,
            async { self.subscribe_by_email(page, email, components).await },
            |_| Change::of(None::<()>, Some(serde_json::json!({"email": email}))),
        )
        .await
    }

    /// Adds a webhook that receives Statuspage's payloads, signed with a secret made now
    /// (admins).
    pub async fn add_webhook_subscriber(
        &self,
        acting: &Acting,
        page: &str,
        url: &str,
        components: &[String],
    ) -> Result<NewWebhook, AppError> {
        acting.require_admin()?;
        self.recorded(
            acting,
            "subscriber.add_webhook",
            page,
            async {
                let page = self.find_status_page(page).await?;
                let subscription = Subscription::parse("webhook", url)
                    .map_err(|e| AppError::Invalid(format!("'url': {e}")))?;
                let parsed = url::Url::parse(subscription.address())
                    .map_err(|e| AppError::Invalid(format!("'url': {e}")))?;
                // An address written as an IP is refused now; a name, when it is resolved.
                self.providers
                    .outbound
                    .check_url(&parsed)
                    .map_err(|e| AppError::Invalid(format!("'url': {e}")))?;
                let components = self.chosen(page.id, components).await?;
                let hex: String = random::<24>().iter().map(|b| format!("{b:02x}")).collect();
                let secret = format!("whsec_{hex}");
                let new = NewSubscriber {
                    page: page.id,
                    subscription,
                    secret: Some(secret.clone()),
                    token: SubscriberToken::from_random(random()),
                    components,
                    confirmed: true,
                };
                let id = match self.store.subscribe(&new, self.now()).await? {
                    Subscribed::New(id) => id,
                    _ => {
                        return Err(AppError::Conflict(
                            "this webhook is subscribed to the page already".to_owned(),
                        ));
                    }
                };
                let subscriber = self.store.subscriber(id).await?;
                Ok(NewWebhook { subscriber, secret })
            },
            |x| {
                Change::of(
                    None::<()>,
                    Some(serde_json::json!({"id": x.subscriber.id.to_string()})),
                )
            },
        )
        .await
    }

    /// The subscription a link names (anyone holding the link).
    pub async fn subscription(&self, token: &str) -> Result<Subscriber, AppError> {
        let token = token_of(token)?;
        Ok(self.store.subscriber_by_token(&token).await?)
    }

    /// The person followed the confirmation link and confirmed.
    pub async fn confirm_subscription(&self, token: &str) -> Result<Subscriber, AppError> {
        let token = token_of(token)?;
        Ok(self.store.confirm_subscriber(&token, self.now()).await?)
    }

    /// Ends the subscription a link names; nothing more is sent to it.
    pub async fn unsubscribe(&self, token: &str) -> Result<Subscriber, AppError> {
        let token = token_of(token)?;
        Ok(self.store.unsubscribe(&token).await?)
    }

    /// A page's subscribers (admins): their addresses are shown to nobody else.
    pub async fn subscribers(
        &self,
        acting: &Acting,
        page: &str,
    ) -> Result<Vec<Subscriber>, AppError> {
        acting.require_admin()?;
        let page = self.find_status_page(page).await?;
        Ok(self.store.subscribers(page.id).await?)
    }

    /// Removes a subscriber of `page` (admins).
    pub async fn remove_subscriber(
        &self,
        acting: &Acting,
        page: &str,
        id: &str,
    ) -> Result<(), AppError> {
        acting.require_admin()?;
        self.recorded(
            acting,
            "subscriber.remove",
            format!("{page}: {id}"),
            async {
                let page = self.find_status_page(page).await?;
                let missing =
                    || AppError::NotFound(format!("subscriber '{id}' not found on this page"));
                let id: SubscriberId = id.trim().parse().map_err(|_| missing())?;
                match self.store.subscriber(id).await {
                    Ok(s) if s.page == page.id => {}
                    Ok(_) | Err(onduty_store::StoreError::NotFound(_)) => return Err(missing()),
                    Err(e) => return Err(e.into()),
                }
                Ok(self.store.remove_subscriber(id).await?)
            },
            |_| Change::none(),
        )
        .await
    }

    /// The components named (ids or names) of page `page`; none: the whole page.
    async fn chosen(
        &self,
        page: onduty_core::StatusPageId,
        names: &[String],
    ) -> Result<Vec<ComponentId>, AppError> {
        if names.len() > MOST_COMPONENTS {
            return Err(AppError::Invalid(format!(
                "choose {MOST_COMPONENTS} components at most"
            )));
        }
        let components = self.store.components(page).await?;
        let mut chosen = Vec::with_capacity(names.len());
        for name in names.iter().map(|n| n.trim()).filter(|n| !n.is_empty()) {
            let id = component_named(&components, name)?;
            // A group stands for its components.
            let members: Vec<ComponentId> = components
                .iter()
                .filter(|c| c.group == Some(id))
                .map(|c| c.id)
                .collect();
            for id in if members.is_empty() {
                vec![id]
            } else {
                members
            } {
                if !chosen.contains(&id) {
                    chosen.push(id);
                }
            }
        }
        Ok(chosen)
    }
}

fn token_of(text: &str) -> Result<SubscriberToken, AppError> {
    SubscriberToken::parse(text.trim()).ok_or_else(|| {
        AppError::NotFound("subscription not found (the link may be cut short)".to_owned())
    })
}
