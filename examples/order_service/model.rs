//! What travels: the API's request body, the `orders` record, the `order-items` work unit.

use serde::{Deserialize, Serialize};

/// `POST /orders` body: `{"customer": "...", "items": [{"sku": "...", "qty": n}, ...]}`.
#[derive(Debug, Clone, Deserialize)]
pub struct NewOrder {
    /// Who ordered.
    pub customer: String,
    /// What they ordered; one work unit each.
    pub items: Vec<OrderLine>,
}

/// One line of an order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderLine {
    /// The article.
    pub sku: String,
    /// How many; must be positive. Signed so that `-1` is rejected by validation with a clear
    /// message rather than by the JSON parser.
    pub qty: i64,
}

/// Why an order was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum InvalidOrder {
    /// The body is not the expected JSON (syntax, a missing field, a wrong type).
    #[error("request body is not a valid order: {0}; expected {{\"customer\": \"...\", \"items\": [{{\"sku\": \"...\", \"qty\": 1}}]}}")]
    Malformed(String),
    /// `customer` is empty.
    #[error("customer must not be empty")]
    NoCustomer,
    /// `items` is empty.
    #[error("an order needs at least one item")]
    NoItems,
    /// An item without a sku.
    #[error("items[{index}].sku must not be empty")]
    NoSku {
        /// The item's position.
        index: usize,
    },
    /// An item with a zero or negative quantity.
    #[error("items[{index}].qty must be at least 1, got {qty}")]
    BadQuantity {
        /// The item's position.
        index: usize,
        /// The quantity given.
        qty: i64,
    },
}

impl NewOrder {
    /// Parses and validates a request body.
    pub fn parse(body: &[u8]) -> Result<Self, InvalidOrder> {
        let order: NewOrder =
            serde_json::from_slice(body).map_err(|e| InvalidOrder::Malformed(e.to_string()))?;
        if order.customer.trim().is_empty() {
            return Err(InvalidOrder::NoCustomer);
        }
        if order.items.is_empty() {
            return Err(InvalidOrder::NoItems);
        }
        for (index, item) in order.items.iter().enumerate() {
            if item.sku.trim().is_empty() {
                return Err(InvalidOrder::NoSku { index });
            }
            if item.qty <= 0 {
                return Err(InvalidOrder::BadQuantity {
                    index,
                    qty: item.qty,
                });
            }
        }
        Ok(order)
    }
}

/// The record on the `orders` topic, keyed by `id`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OrderPlaced {
    /// The order's id (also the record key).
    pub id: String,
    /// Who ordered.
    pub customer: String,
    /// What they ordered.
    pub items: Vec<OrderLine>,
}

/// One item of an order on the `order-items` topic, keyed by the order's id.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WorkUnit {
    /// The order this unit belongs to.
    pub order_id: String,
    /// The item's position in the order: with `order_id`, what makes completion idempotent.
    pub index: usize,
    /// How many units the order has.
    pub items_total: usize,
    /// The item.
    pub line: OrderLine,
}

impl OrderPlaced {
    /// One work unit per item.
    pub fn split(&self) -> Vec<WorkUnit> {
        self.items
            .iter()
            .enumerate()
            .map(|(index, line)| WorkUnit {
                order_id: self.id.clone(),
                index,
                items_total: self.items.len(),
                line: line.clone(),
            })
            .collect()
    }
}
