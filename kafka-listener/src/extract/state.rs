//! Application state handed to handlers: a map from type to one shared value, and the
//! [`State<T>`] extractor that reads it.

use super::{BatchContext, ExtractError, FromBatch, FromRecord, RecordContext};
use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::fmt;
use std::ops::Deref;
use std::sync::Arc;

/// Values shared by every handler of an application, at most one per type (a database pool, a
/// producer, a metrics registry). Cloning is cheap: the map is shared.
///
/// ```
/// use kafka_listener::extract::AppState;
///
/// struct Db { url: String }
///
/// let state = AppState::new().with(Db { url: "postgres://…".into() }).with(42u32);
/// assert_eq!(state.get::<Db>().unwrap().url, "postgres://…");
/// assert_eq!(*state.get::<u32>().unwrap(), 42);
/// assert!(state.get::<String>().is_none());
/// ```
#[derive(Clone, Default)]
pub struct AppState {
    values: Arc<HashMap<TypeId, Arc<dyn Any + Send + Sync>>>,
}

impl AppState {
    /// No state.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `value`, replacing an earlier value of the same type.
    pub fn insert<T: Send + Sync + 'static>(&mut self, value: T) {
        self.insert_arc(Arc::new(value));
    }

    /// Adds a value that is already shared, replacing an earlier value of the same type.
    pub fn insert_arc<T: Send + Sync + 'static>(&mut self, value: Arc<T>) {
        Arc::make_mut(&mut self.values).insert(TypeId::of::<T>(), value);
    }

    /// Builder form of [`insert`](Self::insert).
    pub fn with<T: Send + Sync + 'static>(mut self, value: T) -> Self {
        self.insert(value);
        self
    }

    /// `true` if a value of the type `required` names was registered.
    pub fn satisfies(&self, required: &RequiredState) -> bool {
        self.values.contains_key(&required.type_id)
    }

    /// The value of type `T`, if one was added.
    pub fn get<T: Send + Sync + 'static>(&self) -> Option<Arc<T>> {
        let value = self.values.get(&TypeId::of::<T>())?.clone();
        value.downcast::<T>().ok()
    }
}

impl fmt::Debug for AppState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AppState")
            .field("values", &self.values.len())
            .finish()
    }
}

/// A shared application value, registered once on the app and handed to every handler that
/// asks for it (axum's `State`). Dereferences to `T`.
///
/// ```
/// use kafka_listener::{kafka_listener, Json, State};
/// use std::sync::atomic::{AtomicU64, Ordering};
///
/// #[derive(Default)]
/// struct Counter {
///     events: AtomicU64,
/// }
///
/// #[kafka_listener(topics = "events", group_id = "counter")]
/// async fn count(_event: Json<serde_json::Value>, counter: State<Counter>) {
///     counter.events.fetch_add(1, Ordering::Relaxed);
/// }
/// ```
pub struct State<T>(pub Arc<T>);

impl<T> Deref for State<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T> Clone for State<T> {
    fn clone(&self) -> Self {
        Self(self.0.clone())
    }
}

impl<T: fmt::Debug> fmt::Debug for State<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("State").field(&self.0).finish()
    }
}

/// A `State<T>` a listener takes: checked against the registered state when the app starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequiredState {
    /// The state's type.
    pub type_id: TypeId,
    /// Its name, for the start-up error.
    pub type_name: &'static str,
}

impl RequiredState {
    /// The requirement of a `State<T>` parameter.
    ///
    /// ```
    /// use kafka_listener::extract::{AppState, RequiredState};
    ///
    /// let mut state = AppState::default();
    /// let counter = RequiredState::of::<u64>();
    /// assert!(!state.satisfies(&counter));
    /// state.insert(7u64);
    /// assert!(state.satisfies(&counter));
    /// ```
    pub fn of<T: 'static>() -> Self {
        Self {
            type_id: TypeId::of::<T>(),
            type_name: std::any::type_name::<T>(),
        }
    }
}

fn lookup<T: Send + Sync + 'static>(state: &AppState) -> Result<State<T>, ExtractError> {
    state
        .get::<T>()
        .map(State)
        .ok_or(ExtractError::MissingState {
            type_name: std::any::type_name::<T>(),
        })
}

impl<T: Send + Sync + 'static> FromRecord for State<T> {
    type Rejection = ExtractError;
    fn from_record(ctx: &RecordContext) -> Result<Self, ExtractError> {
        lookup(ctx.state())
    }

    fn required_state() -> Option<RequiredState> {
        Some(RequiredState::of::<T>())
    }
}

impl<T: Send + Sync + 'static> FromBatch for State<T> {
    type Rejection = ExtractError;
    fn from_batch(ctx: &BatchContext) -> Result<Self, ExtractError> {
        lookup(ctx.state())
    }

    fn required_state() -> Option<RequiredState> {
        Some(RequiredState::of::<T>())
    }
}
