//! The vocabulary of wire layouts: a message's structs, their fields in wire order and the
//! versions each field appears in, and how each field is encoded. Only what decides how many
//! bytes a field takes is recorded — nullability and meaning are the codec's business — so the
//! [length guard](super::length_guard) can walk a frame before the codec allocates anything
//! for it. The layouts themselves are in [`request_layouts`](super::request_layouts) and
//! [`response_layouts`](super::response_layouts).

/// A request or response body: the struct at its top and the first version encoded "flexibly"
/// (compact lengths, tagged fields after every struct).
pub(super) struct Message {
    pub flexible_from: i16,
    pub body: Struct,
}

/// A struct: its fields in wire order and the tagged fields the codec decodes by tag.
pub(super) struct Struct {
    pub fields: &'static [Field],
    pub tagged: &'static [TaggedField],
}

/// A field present in `versions`.
pub(super) struct Field {
    pub versions: Versions,
    pub ty: Ty,
}

/// A tagged field the codec decodes (rather than keeping its bytes) in `versions`.
pub(super) struct TaggedField {
    pub tag: u32,
    pub versions: Versions,
    pub ty: Ty,
}

/// An inclusive version range.
#[derive(Clone, Copy)]
pub(super) struct Versions {
    pub min: i16,
    pub max: i16,
}

impl Versions {
    pub fn contains(self, version: i16) -> bool {
        (self.min..=self.max).contains(&version)
    }
}

/// How a field is encoded.
pub(super) enum Ty {
    /// Fixed width: bool, int8 … int64, uuid.
    Fixed(usize),
    /// A (nullable) string: int16 length, or a compact length when flexible.
    String,
    /// (Nullable) bytes or records: int32 length, or a compact length when flexible.
    Bytes,
    /// One struct inline.
    Struct(&'static Struct),
    /// A (nullable) array of structs.
    Array(&'static Struct),
    /// A (nullable) array of fixed-width items.
    FixedArray(usize),
    /// A (nullable) array of strings.
    StringArray,
}

pub(super) const BOOL: Ty = Ty::Fixed(1);
pub(super) const INT8: Ty = Ty::Fixed(1);
pub(super) const INT16: Ty = Ty::Fixed(2);
pub(super) const INT32: Ty = Ty::Fixed(4);
pub(super) const INT64: Ty = Ty::Fixed(8);
pub(super) const UUID: Ty = Ty::Fixed(16);
pub(super) const INT32S: Ty = Ty::FixedArray(4);

pub(super) const fn all(ty: Ty) -> Field {
    Field {
        versions: Versions {
            min: 0,
            max: i16::MAX,
        },
        ty,
    }
}

pub(super) const fn since(min: i16, ty: Ty) -> Field {
    Field {
        versions: Versions { min, max: i16::MAX },
        ty,
    }
}

pub(super) const fn until(max: i16, ty: Ty) -> Field {
    Field {
        versions: Versions { min: 0, max },
        ty,
    }
}

pub(super) const fn between(min: i16, max: i16, ty: Ty) -> Field {
    Field {
        versions: Versions { min, max },
        ty,
    }
}

pub(super) const fn fields(fields: &'static [Field]) -> Struct {
    Struct {
        fields,
        tagged: &[],
    }
}

/// A tagged field the codec decodes by `tag` from version `min` on.
pub(super) const fn tagged_since(tag: u32, min: i16, ty: Ty) -> TaggedField {
    TaggedField {
        tag,
        versions: Versions { min, max: i16::MAX },
        ty,
    }
}
