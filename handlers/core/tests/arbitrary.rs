//! Property tests: arbitrary JSON never panics the parser (ASFF and OCSF), and arbitrary findings never
//! panic the policy.

use proptest::prelude::*;
use secauto_core::envelope::parse_input;
use secauto_core::{Finding, Policy};
use serde_json::{json, Value};

fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        prop_oneof![
            Just(0i64),
            Just(1),
            Just(3),
            Just(5),
            Just(6),
            Just(99),
            Just(2003)
        ]
        .prop_map(|n| json!(n)),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|n| json!(n)),
        prop_oneof![
            Just("Id".to_string()),
            Just("Findings".to_string()),
            Just("Security Hub Findings - Imported".to_string()),
            Just("HIGH".to_string()),
            Just("arn:aws:s3:::b".to_string()),
            Just("AWS::EC2::Instance".to_string()),
            Just("Fail".to_string()),
            ".*"
        ]
        .prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 64, 8, |inner| {
        let keys = prop_oneof![
            Just("Id".to_string()),
            Just("ProductArn".to_string()),
            Just("Findings".to_string()),
            Just("detail-type".to_string()),
            Just("detail".to_string()),
            Just("findings".to_string()),
            Just("Severity".to_string()),
            Just("Label".to_string()),
            Just("Normalized".to_string()),
            Just("Resources".to_string()),
            Just("Types".to_string()),
            Just("Tags".to_string()),
            // OCSF (see handlers/core/src/ocsf.rs)
            Just("class_uid".to_string()),
            Just("metadata".to_string()),
            Just("uid".to_string()),
            Just("uid_alt".to_string()),
            Just("product".to_string()),
            Just("cloud".to_string()),
            Just("account".to_string()),
            Just("finding_info".to_string()),
            Just("compliance".to_string()),
            Just("control".to_string()),
            Just("status_id".to_string()),
            Just("severity_id".to_string()),
            Just("activity_id".to_string()),
            Just("resources".to_string()),
            Just("type".to_string()),
            Just("vulnerabilities".to_string()),
            Just("created_time".to_string()),
            "[a-zA-Z]{1,8}"
        ];
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(keys, inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn parsing_never_panics(v in arb_json()) {
        let _ = parse_input(&v);
        let _ = parse_input(&json!({"detail-type": "Security Hub Findings - Imported", "detail": {"findings": [v.clone()]}}));
        let _ = parse_input(&json!({"detail-type": "Security Hub Findings - Custom Action", "resources": [v.clone()], "detail": {"findings": v}}));
    }

    #[test]
    fn deciding_never_panics(v in arb_json(), id in ".*") {
        let mut obj = match v { Value::Object(m) => m, _ => serde_json::Map::new() };
        obj.insert("Id".into(), Value::String(id));
        if let Ok(f) = serde_json::from_value::<Finding>(Value::Object(obj)) {
            let p = Policy::default();
            let _ = p.decide(&f);
            let _ = p.decide_forced(&f);
            let e = secauto_core::ResponseEvent::new("s", &f, &p.decide(&f), false, false);
            let _ = secauto_core::message::notification(&e, "notify-only");
        }
    }

    /// Arbitrary JSON never panics the OCSF reader, nor deciding what it read.
    #[test]
    fn arbitrary_json_never_panics_the_ocsf_parser(v in arb_json(), epoch in any::<i64>()) {
        let _ = secauto_core::ocsf::parse(&v);
        let mut doc = json!({"class_uid": 2003, "metadata": {"uid": "m"}, "time": epoch,
            "finding_info": {"created_time": epoch}});
        if let Value::Object(extra) = &v {
            doc.as_object_mut().unwrap().extend(extra.clone());
        }
        if let Ok(f) = secauto_core::ocsf::parse(&doc) {
            let _ = (f.fact_key(), Policy::default().decide(&f));
        }
        let event = json!({"detail-type": "Findings Imported V2", "detail": {"findings": [v.clone(), doc]}});
        if let Ok(input) = parse_input(&event) {
            let _ = secauto_core::triage::triage(&Policy::default(), &input);
        }
        let _ = parse_input(&json!({"findings": v}));
    }
}
