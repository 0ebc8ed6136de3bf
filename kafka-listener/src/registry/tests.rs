//! Start-up validation against hand-built specs: every rule, and errors that name the listener's
//! function and source location.

use super::*;
use crate::extract::{BatchContext, RecordContext};

fn record_adapter(_: RecordContext) -> HandlerFuture {
    Box::pin(async { Ok(()) })
}

fn batch_adapter(_: BatchContext) -> HandlerFuture {
    Box::pin(async { Ok(()) })
}

/// A record listener on `orders` in group `billing`; tests change what they exercise.
pub(crate) const BASE: ListenerSpec = ListenerSpec {
    id: None,
    fn_name: "on_order",
    module_path: "shop::orders",
    file: "src/orders.rs",
    line: 12,
    topics: &["orders"],
    topic_pattern: None,
    partitions: &[],
    group_id: Some("billing"),
    concurrency: None,
    auto_startup: None,
    client_id_prefix: None,
    ack_mode: None,
    properties: &[],
    takes_acknowledgment: false,
    parallelism: None,
    ordering: None,
    retry_topic: None,
    required_state: Vec::new,
    handler: ListenerHandler::Record(record_adapter),
};

fn errors(specs: &[ListenerSpec], defaults: &ListenerDefaults) -> Vec<ListenerSpecError> {
    let refs: Vec<&ListenerSpec> = specs.iter().collect();
    match validate(&refs, defaults) {
        Ok(()) => Vec::new(),
        Err(ValidationErrors(errors)) => errors,
    }
}

fn only_error(spec: ListenerSpec) -> ListenerSpecError {
    let mut found = errors(&[spec], &ListenerDefaults::default());
    assert_eq!(found.len(), 1, "expected one error, got {found:?}");
    found.remove(0)
}

#[test]
fn a_well_formed_listener_passes() {
    assert!(errors(&[BASE], &ListenerDefaults::default()).is_empty());
}

#[test]
fn duplicate_ids_name_both_functions_and_locations() {
    let other = ListenerSpec {
        fn_name: "on_order",
        module_path: "shop::refunds",
        file: "src/refunds.rs",
        line: 40,
        ..BASE
    };
    let err = only_error_of(&[BASE, other]);
    assert!(matches!(
        err,
        ListenerSpecError::DuplicateId { id: "on_order", .. }
    ));
    let message = err.to_string();
    assert!(
        message.contains("`fn shop::orders::on_order` (src/orders.rs:12)"),
        "{message}"
    );
    assert!(
        message.contains("`fn shop::refunds::on_order` (src/refunds.rs:40)"),
        "{message}"
    );
    assert!(message.contains("distinct `id"), "{message}");
}

fn only_error_of(specs: &[ListenerSpec]) -> ListenerSpecError {
    let mut found = errors(specs, &ListenerDefaults::default());
    assert_eq!(found.len(), 1, "expected one error, got {found:?}");
    found.remove(0)
}

#[test]
fn an_explicit_id_disambiguates_functions_with_the_same_name() {
    let other = ListenerSpec {
        id: Some("refund-listener"),
        ..BASE
    };
    assert!(errors(&[BASE, other], &ListenerDefaults::default()).is_empty());
}

#[test]
fn a_group_managed_listener_without_any_group_id_is_rejected() {
    let spec = ListenerSpec {
        group_id: None,
        ..BASE
    };
    let err = only_error(spec);
    assert!(matches!(err, ListenerSpecError::MissingGroupId { .. }));
    let message = err.to_string();
    assert!(message.contains("src/orders.rs:12"), "{message}");
    assert!(
        message.contains("spring.kafka.consumer.group-id"),
        "{message}"
    );
}

#[test]
fn the_configured_default_group_id_or_an_explicit_id_satisfies_the_group_rule() {
    let spec = ListenerSpec {
        group_id: None,
        ..BASE
    };
    let defaults = ListenerDefaults {
        group_id: Some("from-config".into()),
        ..Default::default()
    };
    assert!(errors(&[spec], &defaults).is_empty());
    assert_eq!(spec.group_id_or(Some("from-config")), Some("from-config"));
    // Spring's idIsGroup: an explicit id doubles as the group id.
    let with_id = ListenerSpec {
        id: Some("order-group"),
        ..spec
    };
    assert!(errors(&[with_id], &ListenerDefaults::default()).is_empty());
    assert_eq!(with_id.group_id_or(None), Some("order-group"));
}

#[test]
fn manually_assigned_partitions_need_no_group() {
    let spec = ListenerSpec {
        group_id: None,
        partitions: &[0, 2],
        ..BASE
    };
    assert!(errors(&[spec], &ListenerDefaults::default()).is_empty());
}

#[test]
fn topics_and_pattern_conflict_and_neither_is_an_error() {
    let both = ListenerSpec {
        topic_pattern: Some("orders-.*"),
        ..BASE
    };
    assert!(matches!(
        only_error(both),
        ListenerSpecError::TopicsAndPattern { .. }
    ));
    let neither = ListenerSpec {
        topics: &[],
        ..BASE
    };
    assert!(matches!(
        only_error(neither),
        ListenerSpecError::NoTopics { .. }
    ));
    let empty_name = ListenerSpec {
        topics: &["orders", " "],
        ..BASE
    };
    assert!(matches!(
        only_error(empty_name),
        ListenerSpecError::EmptyTopic { .. }
    ));
}

#[test]
fn partitions_with_a_pattern_and_negative_partitions_are_rejected() {
    let spec = ListenerSpec {
        topics: &[],
        topic_pattern: Some("orders-.*"),
        partitions: &[0],
        ..BASE
    };
    assert!(matches!(
        only_error(spec),
        ListenerSpecError::PartitionsWithPattern { .. }
    ));
    let negative = ListenerSpec {
        partitions: &[1, -3],
        ..BASE
    };
    assert_eq!(
        only_error(negative),
        ListenerSpecError::NegativePartition {
            listener: BASE.location(),
            partition: -3
        }
    );
}

#[test]
fn zero_concurrency_is_rejected_but_a_placeholder_waits_for_resolution() {
    let zero = ListenerSpec {
        concurrency: Some(SpecValue::Literal(0)),
        ..BASE
    };
    assert!(matches!(
        only_error(zero),
        ListenerSpecError::ZeroConcurrency { .. }
    ));
    let placeholder = ListenerSpec {
        concurrency: Some(SpecValue::Placeholder("${orders.concurrency}")),
        ..BASE
    };
    assert!(errors(&[placeholder], &ListenerDefaults::default()).is_empty());
}

#[test]
fn an_unknown_ack_mode_suggests_the_closest_one() {
    let spec = ListenerSpec {
        ack_mode: Some("MANUAL_IMEDIATE"),
        ..BASE
    };
    let err = only_error(spec);
    assert_eq!(
        err,
        ListenerSpecError::UnknownAckMode {
            listener: BASE.location(),
            value: "MANUAL_IMEDIATE".into(),
            suggestion: Some("MANUAL_IMMEDIATE"),
        }
    );
    let message = err.to_string();
    assert!(
        message.contains("did you mean `MANUAL_IMMEDIATE`?"),
        "{message}"
    );
    assert!(
        message.contains("RECORD, BATCH, TIME, COUNT, COUNT_TIME, MANUAL"),
        "{message}"
    );
}

#[test]
fn a_far_off_ack_mode_gets_no_suggestion_and_the_default_is_checked_too() {
    let defaults = ListenerDefaults {
        ack_mode: Some("whenever".into()),
        ..Default::default()
    };
    let found = errors(&[BASE], &defaults);
    assert!(
        matches!(
            found.as_slice(),
            [ListenerSpecError::UnknownAckMode {
                suggestion: None,
                ..
            }]
        ),
        "{found:?}"
    );
}

#[test]
fn ack_modes_are_accepted_in_spring_boots_relaxed_forms() {
    for written in [
        "manual_immediate",
        "Manual-Immediate",
        "COUNT_TIME",
        "record",
        "${ack}",
    ] {
        let spec = ListenerSpec {
            ack_mode: Some(written),
            takes_acknowledgment: false,
            parallelism: None,
            ordering: None,
            ..BASE
        };
        assert!(
            errors(&[spec], &ListenerDefaults::default()).is_empty(),
            "{written}"
        );
    }
}

#[test]
fn record_ack_mode_on_a_batch_listener_is_rejected_but_manual_immediate_is_fine() {
    let batch = ListenerSpec {
        handler: ListenerHandler::Batch(batch_adapter),
        ack_mode: Some("RECORD"),
        ..BASE
    };
    assert!(matches!(
        only_error(batch),
        ListenerSpecError::RecordAckModeOnBatch { .. }
    ));
    let manual = ListenerSpec {
        ack_mode: Some("MANUAL_IMMEDIATE"),
        takes_acknowledgment: true,
        parallelism: None,
        ordering: None,
        ..batch
    };
    assert!(errors(&[manual], &ListenerDefaults::default()).is_empty());
}

#[test]
fn an_acknowledgment_parameter_needs_a_manual_ack_mode() {
    let spec = ListenerSpec {
        takes_acknowledgment: true,
        parallelism: None,
        ordering: None,
        ..BASE
    };
    // Spring's default ack mode is BATCH, which never hands out an Acknowledgment.
    assert_eq!(
        only_error(spec),
        ListenerSpecError::AcknowledgmentWithoutManualAckMode {
            listener: BASE.location(),
            ack_mode: "BATCH"
        }
    );
    let from_config = ListenerDefaults {
        ack_mode: Some("manual".into()),
        ..Default::default()
    };
    assert!(errors(&[spec], &from_config).is_empty());
}

#[test]
fn every_problem_is_reported_at_once() {
    let bad = ListenerSpec {
        group_id: None,
        concurrency: Some(SpecValue::Literal(0)),
        ack_mode: Some("sometimes"),
        ..BASE
    };
    let twin = ListenerSpec { line: 30, ..BASE };
    let refs = [&bad, &twin];
    let err = validate(&refs, &ListenerDefaults::default()).unwrap_err();
    assert_eq!(err.0.len(), 4, "{err}");
    let message = err.to_string();
    assert!(
        message.starts_with("4 invalid listener declaration(s):"),
        "{message}"
    );
    assert_eq!(message.lines().count(), 5, "{message}");
}

#[test]
fn spec_accessors_follow_the_declaration() {
    assert_eq!(BASE.id(), "on_order");
    assert_eq!(
        ListenerSpec {
            id: Some("x"),
            ..BASE
        }
        .id(),
        "x"
    );
    assert!(!BASE.is_batch());
    assert!(BASE.uses_group_management());
    assert_eq!(
        BASE.location().to_string(),
        "`fn shop::orders::on_order` (src/orders.rs:12)"
    );
}

#[test]
fn a_third_listener_with_the_same_id_is_reported_against_the_first() {
    let second = ListenerSpec { line: 20, ..BASE };
    let third = ListenerSpec { line: 30, ..BASE };
    let found = errors(&[BASE, second, third], &ListenerDefaults::default());
    let pairs: Vec<(u32, u32)> = found
        .iter()
        .map(|e| match e {
            ListenerSpecError::DuplicateId { first, second, .. } => (first.line, second.line),
            other => panic!("unexpected {other:?}"),
        })
        .collect();
    assert_eq!(pairs, [(12, 20), (12, 30)]);
}
