//! `auto.offset.reset`: the position to start from where the group has no committed offset or
//! the committed one is out of range, looked up with ListOffsets on the partition leaders
//! through the consumer's own fetcher (its connections, deadlines and isolation level: under
//! `read_committed` the log end is the last stable offset).

use std::collections::BTreeMap;

use super::{AutoOffsetReset, GroupError, OffsetAndMetadata, TopicPartition};
use crate::client::fetch::{Fetcher, OffsetQuery};

/// For each partition: the committed offset if it lies within the log, else the reset
/// position; `AutoOffsetReset::None` turns a missing or out-of-range offset into an error
/// naming the partition.
pub(crate) async fn starting_offsets(
    fetcher: &Fetcher,
    group: &str,
    reset: AutoOffsetReset,
    committed: BTreeMap<TopicPartition, Option<OffsetAndMetadata>>,
) -> Result<BTreeMap<TopicPartition, i64>, GroupError> {
    let mut positions = BTreeMap::new();
    for (tp, committed) in committed {
        let list_error = |e: crate::client::fetch::FetchError| GroupError::ListOffsets {
            group: group.to_owned(),
            partition: tp.clone(),
            reason: e.to_string(),
        };
        let partition = fetcher.partition(tp.topic.as_str(), tp.partition);
        let earliest = partition
            .offset_for(OffsetQuery::Earliest)
            .await
            .map_err(list_error)?;
        let latest = partition
            .offset_for(OffsetQuery::Latest)
            .await
            .map_err(list_error)?;
        let position = match committed {
            Some(c) if (earliest..=latest).contains(&c.offset) => c.offset,
            other => {
                if let Some(c) = &other {
                    tracing::warn!(group, partition = %tp, committed = c.offset, earliest, latest, "committed offset out of range; applying auto.offset.reset");
                }
                match reset {
                    AutoOffsetReset::Earliest => earliest,
                    AutoOffsetReset::Latest => latest,
                    AutoOffsetReset::None => {
                        return Err(GroupError::NoOffsetForPartition {
                            group: group.to_owned(),
                            partition: tp,
                        })
                    }
                }
            }
        };
        positions.insert(tp, position);
    }
    Ok(positions)
}
