//! `onduty postmortem`: list postmortems, start one from incidents, export one as
//! Markdown (through `/api/v1/postmortems`).

use reqwest::Method;
use serde_json::{Value, json};

use super::{Client, encode};
use crate::cli::PostmortemCommand;
use crate::output::clean;

/// Markdown as the terminal gets it: lines and tabs kept, every other control character
/// (an escape sequence in an alert's summary, say) made visible instead of obeyed.
fn terminal_safe(markdown: &str) -> String {
    markdown
        .split('\n')
        .map(|line| line.split('\t').map(clean).collect::<Vec<_>>().join("\t"))
        .collect::<Vec<_>>()
        .join("\n")
}

fn print_row(p: &Value) {
    println!(
        "{}  {:<10}  {}",
        p["id"].as_str().unwrap_or(""),
        p["status"].as_str().unwrap_or(""),
        clean(p["title"].as_str().unwrap_or(""))
    );
}

impl Client {
    pub(super) async fn postmortems(&self, command: PostmortemCommand) -> anyhow::Result<()> {
        match command {
            PostmortemCommand::List => {
                let list = self.call(Method::GET, "/postmortems", None).await?;
                self.output(&list, |l| {
                    for p in l["postmortems"].as_array().into_iter().flatten() {
                        print_row(p);
                    }
                });
            }
            PostmortemCommand::Start { incidents } => {
                let made = self
                    .call(
                        Method::POST,
                        "/postmortems",
                        Some(json!({ "incidents": incidents })),
                    )
                    .await?;
                self.output(&made, |m| print_row(&m["postmortem"]));
            }
            PostmortemCommand::Export { id } => {
                if self.json {
                    let found = self
                        .call(Method::GET, &format!("/postmortems/{}", encode(&id)), None)
                        .await?;
                    crate::output::print_json(&found);
                } else {
                    let id = id.trim_end_matches(".md");
                    let markdown = self
                        .call_text(
                            Method::GET,
                            &format!("/postmortems/{}.md", encode(id)),
                            None,
                        )
                        .await?;
                    print!("{}", terminal_safe(&markdown));
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn markdown_keeps_its_lines_but_not_escape_sequences() {
        assert_eq!(
            super::terminal_safe("# Title\n\n- \u{1b}[31mred\u{1b}[0m\tok\n"),
            "# Title\n\n- \u{FFFD}[31mred\u{FFFD}[0m\tok\n"
        );
    }
}
