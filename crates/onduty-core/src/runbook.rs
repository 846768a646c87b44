//! Runbooks: what to do when an alert fires, kept per service and, within a service, per
//! alert (by Alertmanager's `alertname`, or a pattern over the dedup key or the summary).
//! Which runbook an incident shows is decided here, purely: the event's own runbook link
//! first, then the most specific runbook kept for it.

use std::fmt;

use globset::{Glob, GlobBuilder, GlobMatcher};

use crate::event::{Link, clickable};
use crate::incident::Incident;

/// Longest pattern or alert name.
pub const PATTERN_MAX_CHARS: usize = 200;
/// Longest runbook URL.
pub const URL_MAX_CHARS: usize = 2048;
/// Longest Markdown runbook (bytes).
pub const MARKDOWN_MAX_BYTES: usize = 64 * 1024;
/// Longest runbook title.
pub const TITLE_MAX_CHARS: usize = 200;

/// Why a runbook could not be kept.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RunbookError {
    #[error("'match' must be one of 'service', 'alertname', 'dedup_key' or 'summary', not '{0}'")]
    UnknownScope(String),
    #[error("a runbook for '{0}' needs a 'pattern'")]
    MissingPattern(&'static str),
    #[error("a runbook for the whole service takes no 'pattern'")]
    PatternOnService,
    #[error("'pattern' is longer than {PATTERN_MAX_CHARS} characters")]
    PatternTooLong,
    #[error("'pattern' is not a pattern: {0}")]
    BadPattern(String),
    #[error("a runbook is a 'url' or 'markdown' text, one of the two")]
    NeedsOneBody,
    #[error("'url' must be an http:// or https:// address of at most {URL_MAX_CHARS} characters")]
    BadUrl,
    #[error("'markdown' is longer than {MARKDOWN_MAX_BYTES} bytes")]
    MarkdownTooLong,
    #[error("'title' is longer than {TITLE_MAX_CHARS} characters")]
    TitleTooLong,
}

/// A pattern over a dedup key or a summary: `*` stands for any run of characters, `?` for
/// one, `[abc]` for one of a set; letters match in any case. `disk-*-full`.
#[derive(Clone)]
pub struct Pattern {
    text: String,
    matcher: GlobMatcher,
}

impl Pattern {
    pub fn parse(text: &str) -> Result<Pattern, RunbookError> {
        let text = text.trim();
        if text.chars().count() > PATTERN_MAX_CHARS {
            return Err(RunbookError::PatternTooLong);
        }
        let glob: Glob = GlobBuilder::new(text)
            .case_insensitive(true)
            .literal_separator(false)
            .backslash_escape(true)
            .build()
            .map_err(|e| RunbookError::BadPattern(e.kind().to_string()))?;
        Ok(Pattern {
            text: text.to_owned(),
            matcher: glob.compile_matcher(),
        })
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    pub fn matches(&self, text: &str) -> bool {
        self.matcher.is_match(text)
    }

    /// How much of the pattern is literal: the more, the more specific.
    fn literal_chars(&self) -> usize {
        self.text
            .chars()
            .filter(|c| !matches!(c, '*' | '?' | '[' | ']' | '{' | '}'))
            .count()
    }
}

impl PartialEq for Pattern {
    fn eq(&self, other: &Self) -> bool {
        self.text == other.text
    }
}

impl Eq for Pattern {}

impl fmt::Debug for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Pattern").field(&self.text).finish()
    }
}

/// Which incidents of its service a runbook is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunbookScope {
    /// Any incident of the service that no more specific runbook covers.
    Service,
    /// Alerts with this Alertmanager `alertname` label (exactly).
    AlertName(String),
    /// Incidents whose dedup key matches.
    DedupKey(Pattern),
    /// Incidents whose summary matches.
    Summary(Pattern),
}

impl RunbookScope {
    /// From the API's `match` and `pattern`.
    pub fn parse(kind: &str, pattern: &str) -> Result<RunbookScope, RunbookError> {
        let pattern = pattern.trim();
        let needs = |name: &'static str| {
            if pattern.is_empty() {
                Err(RunbookError::MissingPattern(name))
            } else {
                Ok(())
            }
        };
        match kind.trim() {
            "" | "service" if pattern.is_empty() => Ok(RunbookScope::Service),
            "" | "service" => Err(RunbookError::PatternOnService),
            "alertname" => {
                needs("alertname")?;
                if pattern.chars().count() > PATTERN_MAX_CHARS {
                    return Err(RunbookError::PatternTooLong);
                }
                Ok(RunbookScope::AlertName(pattern.to_owned()))
            }
            "dedup_key" => {
                needs("dedup_key")?;
                Ok(RunbookScope::DedupKey(Pattern::parse(pattern)?))
            }
            "summary" => {
                needs("summary")?;
                Ok(RunbookScope::Summary(Pattern::parse(pattern)?))
            }
            other => Err(RunbookError::UnknownScope(other.chars().take(40).collect())),
        }
    }

    /// The API's `match`.
    pub fn kind(&self) -> &'static str {
        match self {
            RunbookScope::Service => "service",
            RunbookScope::AlertName(_) => "alertname",
            RunbookScope::DedupKey(_) => "dedup_key",
            RunbookScope::Summary(_) => "summary",
        }
    }

    /// The API's `pattern` (empty for the whole service).
    pub fn pattern(&self) -> &str {
        match self {
            RunbookScope::Service => "",
            RunbookScope::AlertName(name) => name,
            RunbookScope::DedupKey(p) | RunbookScope::Summary(p) => p.as_str(),
        }
    }

    /// Whether an incident with these facts is covered.
    pub fn covers(&self, facts: &AlertFacts<'_>) -> bool {
        match self {
            RunbookScope::Service => true,
            RunbookScope::AlertName(name) => facts.alertname == Some(name.as_str()),
            RunbookScope::DedupKey(p) => p.matches(facts.dedup_key),
            RunbookScope::Summary(p) => p.matches(facts.summary),
        }
    }

    /// Lower is more specific: the alert's own name, then its key, then its words, then
    /// the service; within a kind, the pattern with more literal characters.
    fn specificity(&self) -> (u8, std::cmp::Reverse<usize>) {
        let (rank, literal) = match self {
            RunbookScope::AlertName(name) => (0, name.chars().count()),
            RunbookScope::DedupKey(p) => (1, p.literal_chars()),
            RunbookScope::Summary(p) => (2, p.literal_chars()),
            RunbookScope::Service => (3, 0),
        };
        (rank, std::cmp::Reverse(literal))
    }
}

/// What a runbook says: a link to where it is kept, or Markdown kept in onduty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunbookBody {
    Url(String),
    Markdown(String),
}

impl RunbookBody {
    /// From the API's `url` and `markdown`: exactly one of them.
    pub fn parse(url: Option<&str>, markdown: Option<&str>) -> Result<RunbookBody, RunbookError> {
        let url = url.map(str::trim).filter(|u| !u.is_empty());
        let markdown = markdown.filter(|m| !m.trim().is_empty());
        match (url, markdown) {
            (Some(url), None) => {
                if url.chars().count() > URL_MAX_CHARS
                    || !clickable(url)
                    || url.chars().any(|c| c.is_whitespace() || c.is_control())
                {
                    return Err(RunbookError::BadUrl);
                }
                Ok(RunbookBody::Url(url.to_owned()))
            }
            (None, Some(text)) => {
                if text.len() > MARKDOWN_MAX_BYTES {
                    return Err(RunbookError::MarkdownTooLong);
                }
                Ok(RunbookBody::Markdown(text.to_owned()))
            }
            _ => Err(RunbookError::NeedsOneBody),
        }
    }

    pub fn url(&self) -> Option<&str> {
        match self {
            RunbookBody::Url(url) => Some(url),
            RunbookBody::Markdown(_) => None,
        }
    }

    pub fn markdown(&self) -> Option<&str> {
        match self {
            RunbookBody::Url(_) => None,
            RunbookBody::Markdown(text) => Some(text),
        }
    }
}

/// A runbook's title: what the link says ("Disk full on a database host"). Empty means
/// "Runbook".
pub fn parse_title(text: &str) -> Result<String, RunbookError> {
    let text = text.trim();
    if text.chars().count() > TITLE_MAX_CHARS {
        return Err(RunbookError::TitleTooLong);
    }
    Ok(text.chars().filter(|c| !c.is_control()).collect())
}

/// What a runbook is chosen by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AlertFacts<'a> {
    /// Alertmanager's `alertname` label, as onduty keeps it in the custom details.
    pub alertname: Option<&'a str>,
    pub dedup_key: &'a str,
    pub summary: &'a str,
}

impl<'a> AlertFacts<'a> {
    pub fn of(incident: &'a Incident) -> AlertFacts<'a> {
        let details = incident
            .details
            .alert()
            .and_then(|a| a.custom_details.as_ref());
        let alertname = details
            .and_then(|d| {
                d.pointer("/labels/alertname")
                    .or_else(|| d.pointer("/alertname"))
            })
            .and_then(|v| v.as_str());
        AlertFacts {
            alertname,
            dedup_key: incident.dedup_key.as_str(),
            summary: &incident.summary,
        }
    }
}

/// Whether a link sent with an event is its runbook (Alertmanager's `runbook_url`
/// annotation arrives as a link named "Runbook").
pub fn is_runbook_link(link: &Link) -> bool {
    let says = |text: &str| text.to_lowercase().contains("runbook");
    says(&link.href) || link.text.as_deref().is_some_and(says)
}

/// The runbook an incident shows.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Chosen<'a, R> {
    /// The event named its own: it wins.
    FromEvent(&'a Link),
    /// One kept in onduty for the service.
    Kept(&'a R),
}

/// The most specific of a service's runbooks that covers these facts; among equals, the
/// first kept.
pub fn choose<'a, R: AsRef<RunbookScope>>(kept: &'a [R], facts: &AlertFacts<'_>) -> Option<&'a R> {
    kept.iter()
        .enumerate()
        .filter(|(_, r)| r.as_ref().covers(facts))
        .min_by_key(|(order, r)| (r.as_ref().specificity(), *order))
        .map(|(_, r)| r)
}

/// The runbook an incident shows: its event's own clickable runbook link, else the most
/// specific kept for its service.
pub fn for_incident<'a, R: AsRef<RunbookScope>>(
    incident: &'a Incident,
    kept: &'a [R],
) -> Option<Chosen<'a, R>> {
    if let Some(link) = incident
        .details
        .links
        .iter()
        .find(|l| is_runbook_link(l) && clickable(&l.href))
    {
        return Some(Chosen::FromEvent(link));
    }
    choose(kept, &AlertFacts::of(incident)).map(Chosen::Kept)
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Kept(RunbookScope, &'static str);

    impl AsRef<RunbookScope> for Kept {
        fn as_ref(&self) -> &RunbookScope {
            &self.0
        }
    }

    fn scope(kind: &str, pattern: &str) -> RunbookScope {
        RunbookScope::parse(kind, pattern).unwrap()
    }

    #[test]
    fn the_most_specific_runbook_that_covers_the_alert_is_chosen() {
        let kept = [
            Kept(scope("service", ""), "service"),
            Kept(scope("summary", "*disk*"), "disk words"),
            Kept(scope("summary", "*disk usage*"), "disk usage words"),
            Kept(scope("dedup_key", "db/*"), "db keys"),
            Kept(scope("dedup_key", "db/*/disk"), "db disk keys"),
            Kept(scope("alertname", "DiskFull"), "DiskFull"),
        ];
        let facts = |alertname, dedup_key, summary| AlertFacts {
            alertname,
            dedup_key,
            summary,
        };
        for (facts, expected) in [
            (
                facts(Some("DiskFull"), "db/1/disk", "Disk usage 95%"),
                Some("DiskFull"),
            ),
            (
                facts(Some("Other"), "db/1/disk", "Disk usage 95%"),
                Some("db disk keys"),
            ),
            (facts(None, "db/1/cpu", "Disk usage 95%"), Some("db keys")),
            (
                facts(None, "web/1", "DISK USAGE at 95%"),
                Some("disk usage words"),
            ),
            (facts(None, "web/1", "disk slow"), Some("disk words")),
            (facts(None, "web/1", "CPU high"), Some("service")),
        ] {
            assert_eq!(choose(&kept, &facts).map(|k| k.1), expected, "{facts:?}");
        }
        let no_service = [Kept(scope("alertname", "DiskFull"), "DiskFull")];
        assert!(choose(&no_service, &facts(None, "k", "s")).is_none());
    }

    #[test]
    fn among_equals_the_first_kept_wins() {
        let kept = [
            Kept(scope("summary", "disk*"), "first"),
            Kept(scope("summary", "*full"), "second"),
        ];
        let facts = AlertFacts {
            alertname: None,
            dedup_key: "k",
            summary: "disk full",
        };
        assert_eq!(choose(&kept, &facts).map(|k| k.1), Some("first"));
    }

    #[test]
    fn scopes_and_bodies_refuse_what_means_nothing() {
        for (kind, pattern, expected) in [
            ("service", "", Ok("service")),
            ("", "", Ok("service")),
            ("service", "x", Err(RunbookError::PatternOnService)),
            (
                "alertname",
                " ",
                Err(RunbookError::MissingPattern("alertname")),
            ),
            (
                "dedup_key",
                "",
                Err(RunbookError::MissingPattern("dedup_key")),
            ),
            (
                "summary",
                "[unclosed",
                Err(RunbookError::BadPattern(String::new())),
            ),
            (
                "label",
                "x",
                Err(RunbookError::UnknownScope("label".to_owned())),
            ),
            (
                "summary",
                &"x".repeat(201),
                Err(RunbookError::PatternTooLong),
            ),
        ] {
            let got = RunbookScope::parse(kind, pattern).map(|s| s.kind());
            match (got, expected) {
                (Ok(kind), Ok(want)) => assert_eq!(kind, want),
                (Err(RunbookError::BadPattern(_)), Err(RunbookError::BadPattern(_))) => {}
                (got, want) => assert_eq!(got, want, "{kind} {pattern}"),
            }
        }
        for (url, markdown, ok) in [
            (Some("https://wiki.example/disk"), None, true),
            (None, Some("# Disk full\n\n1. Look"), true),
            (Some("javascript:alert(1)"), None, false),
            (Some("https://wiki.example/a b"), None, false),
            (Some("https://a"), Some("both"), false),
            (None, Some("  "), false),
            (None, None, false),
        ] {
            assert_eq!(
                RunbookBody::parse(url, markdown).is_ok(),
                ok,
                "{url:?} {markdown:?}"
            );
        }
        let long = "x".repeat(MARKDOWN_MAX_BYTES + 1);
        assert_eq!(
            RunbookBody::parse(None, Some(&long)),
            Err(RunbookError::MarkdownTooLong)
        );
    }

    #[test]
    fn patterns_match_any_case_and_across_slashes() {
        let p = Pattern::parse("db/*/DISK").unwrap();
        assert!(p.matches("db/host-1.example/a/disk"));
        assert!(!p.matches("web/host-1/disk"));
        assert!(
            Pattern::parse(r"literal\*star")
                .unwrap()
                .matches("literal*star")
        );
    }
}
