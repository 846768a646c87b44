//! Markdown that people write (runbooks) shown as HTML: CommonMark by pulldown-cmark, then
//! every tag and attribute outside a safe list removed by ammonia. Script, raw HTML, event
//! handlers and `javascript:` links come out inert; links open with `rel="noopener
//! noreferrer"`.

use pulldown_cmark::{Event, HeadingLevel, Options, Parser, Tag, TagEnd, html};

/// A heading two levels down, so a runbook's `#` sits under the page's own `<h2>`.
fn demoted(level: HeadingLevel) -> HeadingLevel {
    match level {
        HeadingLevel::H1 => HeadingLevel::H3,
        HeadingLevel::H2 => HeadingLevel::H4,
        HeadingLevel::H3 => HeadingLevel::H5,
        _ => HeadingLevel::H6,
    }
}

/// HTML that ammonia cleaned: askama places it in a page as it is (no `|safe` needed, and
/// nothing else can be made one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SafeHtml(String);

impl SafeHtml {
    pub fn into_string(self) -> String {
        self.0
    }
}

impl std::fmt::Display for SafeHtml {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl askama::filters::HtmlSafe for SafeHtml {}

/// `text` as safe HTML, ready to place in a page without escaping. Headings start at
/// `<h3>`.
pub fn to_safe_html(text: &str) -> SafeHtml {
    let options = Options::ENABLE_TABLES
        | Options::ENABLE_STRIKETHROUGH
        | Options::ENABLE_TASKLISTS
        | Options::ENABLE_FOOTNOTES;
    let events = Parser::new_ext(text, options).map(|event| match event {
        Event::Start(Tag::Heading {
            level,
            id,
            classes,
            attrs,
        }) => Event::Start(Tag::Heading {
            level: demoted(level),
            id,
            classes,
            attrs,
        }),
        Event::End(TagEnd::Heading(level)) => Event::End(TagEnd::Heading(demoted(level))),
        other => other,
    });
    let mut raw = String::with_capacity(text.len() * 3 / 2);
    html::push_html(&mut raw, events);
    SafeHtml(
        ammonia::Builder::default()
            .url_schemes(["http", "https", "mailto", "tel"].into())
            .clean(&raw)
            .to_string(),
    )
}

#[cfg(test)]
mod tests {
    use super::to_safe_html;

    #[test]
    fn markdown_becomes_html() {
        let html = to_safe_html(
            "# Disk full\n\n1. Run `df -h`\n2. See [the wiki](https://wiki.example/disk)\n\n| a | b |\n|---|---|\n| 1 | 2 |\n",
        )
        .into_string();
        assert!(html.contains("<h3>Disk full</h3>"), "{html}");
        assert!(html.contains("<code>df -h</code>"), "{html}");
        assert!(html.contains("<ol>"), "{html}");
        assert!(
            html.contains("<a href=\"https://wiki.example/disk\" rel=\"noopener noreferrer\">"),
            "{html}"
        );
        assert!(html.contains("<table>"), "{html}");
    }

    #[test]
    fn script_and_raw_html_render_inert() {
        for hostile in [
            "<script>alert(1)</script>",
            "<img src=x onerror=alert(1)>",
            "[click](javascript:alert(1))",
            "<a href=\"javascript:alert(1)\">x</a>",
            "<iframe src=\"https://evil.example\"></iframe>",
            "<style>body{display:none}</style>",
            "<svg><script>alert(1)</script></svg>",
            "[x](data:text/html,<script>alert(1)</script>)",
            "<div style=\"position:fixed\">cover</div>",
            "<form action=\"https://evil.example\"><input></form>",
        ] {
            let html = to_safe_html(hostile).into_string().to_lowercase();
            for bad in [
                "<script",
                "onerror",
                "javascript:",
                "<iframe",
                "<style",
                "data:",
                "style=",
                "<form",
                "<input",
                "<svg",
            ] {
                assert!(!html.contains(bad), "{hostile} gave {html}");
            }
        }
    }
}
