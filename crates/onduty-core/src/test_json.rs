//! For property tests: how long fuzzing properties run, and any JSON at all, nested a few levels, with object keys drawn from
//! `keys` and strings from `words` (regular expressions), so that generated bodies reach
//! the fields a parser looks for.

use proptest::prelude::*;
use serde_json::Value;

/// Cases for a fuzzing property (a parser given anything must answer, never panic):
/// `default`, or `ONDUTY_FUZZ_CASES` when set (CI runs a longer pass with it).
pub(crate) fn fuzz_cases(default: u32) -> u32 {
    std::env::var("ONDUTY_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

pub(crate) fn arbitrary_json(
    keys: &'static str,
    words: &'static str,
) -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        words.prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 64, 8, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::from),
            prop::collection::btree_map(keys, inner, 0..8)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}
