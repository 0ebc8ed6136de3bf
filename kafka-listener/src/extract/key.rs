//! The record key as a handler argument: [`Key<T>`], and `Option<Key<T>>` for null keys.

use super::payload::decode;
use super::{ExtractError, FromPayload, FromRecord, RecordContext, RecordPart};
use std::ops::Deref;

/// The record key decoded with any [`FromPayload`] codec: `Key<String>`, `Key<Bytes>`,
/// `Key<Vec<u8>>`, `Key<Json<T>>`. A null key is an error; take `Option<Key<T>>` to accept one.
///
/// ```
/// use kafka_listener::{kafka_listener, Key};
///
/// #[kafka_listener(topics = "users", group_id = "directory")]
/// async fn on_user(user_id: Key<String>, name: String) {
///     println!("{} is {name}", *user_id);
/// }
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Key<T>(pub T);

impl<T> Key<T> {
    /// The decoded key.
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> Deref for Key<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: FromPayload> FromRecord for Key<T> {
    type Rejection = ExtractError;
    fn from_record(ctx: &RecordContext) -> Result<Self, ExtractError> {
        Option::<Key<T>>::from_record(ctx)?.ok_or_else(|| {
            let record = ctx.record();
            ExtractError::NullKey {
                topic: record.topic.clone(),
                partition: record.partition,
                offset: record.offset,
                target: std::any::type_name::<T>(),
            }
        })
    }
}

/// The record key, or `None` when the key is null.
impl<T: FromPayload> FromRecord for Option<Key<T>> {
    type Rejection = ExtractError;
    fn from_record(ctx: &RecordContext) -> Result<Self, ExtractError> {
        match &ctx.record().key {
            None => Ok(None),
            Some(raw) => Ok(Some(Key(decode(ctx, RecordPart::Key, raw)?))),
        }
    }
}
