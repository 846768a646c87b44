//! What people send back: SMS replies and keys pressed during a call, parsed into what
//! they ask for. The codes, as documented for users:
//!
//! - `42a`, `42 a`, `ack 42`, `a 42`: acknowledge incident #42; `42r`/`resolve 42`
//!   resolve it; `42e`/`escalate 42` escalate it to the next level.
//! - `a`, `r`, `e` (or `ack`, `resolve`, `escalate`) alone: the incidents of the last page
//!   sent to that number (one, or all of a bundle); `aa` and `rr` say the same.
//! - `STOP` (and Twilio's other opt-out words) stops pages to that number; `START` resumes
//!   them; `HELP` answers with these codes.
//! - During a call: 4 acknowledges, 6 resolves, 5 escalates, 1 repeats the message.

/// What a reply asks onduty to do to an incident.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplyAction {
    Acknowledge,
    Resolve,
    Escalate,
}

impl ReplyAction {
    pub fn done(self) -> &'static str {
        match self {
            ReplyAction::Acknowledge => "Acknowledged",
            ReplyAction::Resolve => "Resolved",
            ReplyAction::Escalate => "Escalated",
        }
    }
}

/// A parsed SMS reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// Act on incident `number`, or on the last page sent to this number if `None`.
    Act {
        action: ReplyAction,
        number: Option<i64>,
    },
    /// Stop sending pages to this number.
    Stop,
    /// Send pages to this number again.
    Start,
    Help,
    /// Nothing onduty understands.
    Unknown,
}

/// The text sent back to `HELP` and to replies onduty does not understand.
pub const REPLY_HELP: &str = "onduty: reply 42a to acknowledge incident 42, 42r to resolve, 42e to escalate; \
a, r or e alone act on the last page. STOP stops pages to this number, START resumes them.";

/// Parses an SMS reply (case and surrounding spaces do not matter).
pub fn parse_reply(text: &str) -> Reply {
    let text = text.trim().to_ascii_lowercase();
    let words: Vec<&str> = text.split_whitespace().collect();
    match words.as_slice() {
        // Twilio's own opt-out and opt-in keywords.
        [w] if ["stop", "stopall", "unsubscribe", "cancel", "end", "quit"].contains(w) => {
            Reply::Stop
        }
        [w] if ["start", "yes", "unstop"].contains(w) => Reply::Start,
        [w] if ["help", "info"].contains(w) => Reply::Help,
        [w] => match action_word(w) {
            Some(action) => Reply::Act {
                action,
                number: None,
            },
            None => numbered_code(w),
        },
        [a, b] => match (
            action_word(a),
            b.parse::<i64>(),
            a.parse::<i64>(),
            action_word(b),
        ) {
            (Some(action), Ok(n), _, _) if n > 0 => Reply::Act {
                action,
                number: Some(n),
            },
            (_, _, Ok(n), Some(action)) if n > 0 => Reply::Act {
                action,
                number: Some(n),
            },
            _ => Reply::Unknown,
        },
        _ => Reply::Unknown,
    }
}

/// `a`, `ack`, `aa`, `acknowledge`; `r`, `rr`, `resolve`, `close`; `e`, `esc`, `escalate`.
fn action_word(w: &str) -> Option<ReplyAction> {
    Some(match w {
        "a" | "aa" | "ack" | "acknowledge" => ReplyAction::Acknowledge,
        "r" | "rr" | "c" | "res" | "resolve" | "close" => ReplyAction::Resolve,
        "e" | "esc" | "escalate" => ReplyAction::Escalate,
        _ => return None,
    })
}

/// `42a`, `42r`, `42e`.
fn numbered_code(w: &str) -> Reply {
    let digits = w.chars().take_while(char::is_ascii_digit).count();
    let (number, rest) = w.split_at(digits);
    match (number.parse::<i64>(), action_word(rest)) {
        (Ok(n), Some(action)) if n > 0 => Reply::Act {
            action,
            number: Some(n),
        },
        _ => Reply::Unknown,
    }
}

/// What a key pressed during a call asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keypress {
    Act(ReplyAction),
    Repeat,
    Unknown,
}

/// Keys, as GoAlert users know them: 4 acknowledge, 6 resolve, 5 escalate; 1 repeats.
pub fn parse_keypress(digits: &str) -> Keypress {
    match digits.trim() {
        "4" => Keypress::Act(ReplyAction::Acknowledge),
        "6" => Keypress::Act(ReplyAction::Resolve),
        "5" => Keypress::Act(ReplyAction::Escalate),
        "1" => Keypress::Repeat,
        _ => Keypress::Unknown,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn act(action: ReplyAction, number: Option<i64>) -> Reply {
        Reply::Act { action, number }
    }

    #[test]
    fn replies_people_actually_type() {
        use ReplyAction::*;
        let table = [
            ("42a", act(Acknowledge, Some(42))),
            (" 42A ", act(Acknowledge, Some(42))),
            ("42 a", act(Acknowledge, Some(42))),
            ("ack 42", act(Acknowledge, Some(42))),
            ("Ack", act(Acknowledge, None)),
            ("a", act(Acknowledge, None)),
            ("aa", act(Acknowledge, None)),
            ("7r", act(Resolve, Some(7))),
            ("resolve 7", act(Resolve, Some(7))),
            ("rr", act(Resolve, None)),
            ("3e", act(Escalate, Some(3))),
            ("escalate 3", act(Escalate, Some(3))),
            ("e", act(Escalate, None)),
            ("STOP", Reply::Stop),
            ("unsubscribe", Reply::Stop),
            ("Start", Reply::Start),
            ("help", Reply::Help),
            ("0a", Reply::Unknown),
            ("-1a", Reply::Unknown),
            ("42x", Reply::Unknown),
            ("thanks, on it", Reply::Unknown),
            ("", Reply::Unknown),
            ("ack 42 now", Reply::Unknown),
        ];
        for (text, want) in table {
            assert_eq!(parse_reply(text), want, "{text:?}");
        }
    }

    #[test]
    fn call_keys() {
        assert_eq!(parse_keypress("4"), Keypress::Act(ReplyAction::Acknowledge));
        assert_eq!(parse_keypress("6"), Keypress::Act(ReplyAction::Resolve));
        assert_eq!(parse_keypress("5"), Keypress::Act(ReplyAction::Escalate));
        assert_eq!(parse_keypress("1"), Keypress::Repeat);
        assert_eq!(parse_keypress("9"), Keypress::Unknown);
        assert_eq!(parse_keypress(""), Keypress::Unknown);
    }
}
