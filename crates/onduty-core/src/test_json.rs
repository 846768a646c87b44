//! For property tests: any JSON at all, nested a few levels, with object keys drawn from
//! `keys` and strings from `words` (regular expressions), so that generated bodies reach
//! the fields a parser looks for.

use proptest::prelude::*;
use serde_json::Value;

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
