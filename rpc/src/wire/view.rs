//! What every header view shares, written once: the `field` module, the
//! buffer wrapper and its constructors, and the getters and setters of
//! plain big-endian fields ([`header_view!`] over [`FieldValue`]).
//!
//! Fields with a meaning of their own (a nibble, a flag bit, a checksum)
//! keep hand-written accessors in their header's file.

use std::net::Ipv4Addr;

/// A value a header stores in a fixed run of bytes, big-endian.
///
/// `read` and `write` take exactly the field's bytes (the range from the
/// header's `field` module); a slice of another width is a programming
/// error and panics. After inlining, the width is a constant and the check
/// folds away: a getter costs one bounds-checked load.
pub(crate) trait FieldValue: Sized {
    /// The value in `bytes`.
    fn read(bytes: &[u8]) -> Self;
    /// Writes the value into `bytes`.
    fn write(&self, bytes: &mut [u8]);
}

/// A fixed-width array from a field's bytes (panics on another width).
pub(crate) fn array<const N: usize>(bytes: &[u8]) -> [u8; N] {
    bytes.try_into().expect("field width")
}

macro_rules! be_integer {
    ($($ty:ty),*) => {$(
        impl FieldValue for $ty {
            fn read(bytes: &[u8]) -> Self {
                <$ty>::from_be_bytes(array(bytes))
            }
            fn write(&self, bytes: &mut [u8]) {
                bytes.copy_from_slice(&self.to_be_bytes())
            }
        }
    )*};
}
be_integer!(u8, u16, u32, u64);

impl<const N: usize> FieldValue for [u8; N] {
    fn read(bytes: &[u8]) -> Self {
        array(bytes)
    }
    fn write(&self, bytes: &mut [u8]) {
        bytes.copy_from_slice(self)
    }
}

impl FieldValue for Ipv4Addr {
    fn read(bytes: &[u8]) -> Self {
        Ipv4Addr::from(array::<4>(bytes))
    }
    fn write(&self, bytes: &mut [u8]) {
        bytes.copy_from_slice(&self.octets())
    }
}

/// Declares a header: its private `field` module of byte ranges, a view
/// struct `$name<T: AsRef<[u8]>>` over a byte buffer with `new_unchecked`,
/// `new_checked` (which runs `check_len`), `into_inner` and the private
/// `b()` / `b_mut()` the hand-written accessors use, and a getter and a
/// setter per plain field.
///
/// ```text
/// header_view! {
///     /// The view's doc.
///     pub struct FooPacket;
///     min_len: FOO_LEN;           // optional: generates check_len
///     other: [VER_IHL = 0..1];    // ranges with hand-written accessors
///     fields: [
///         /// The getter's doc.
///         LENGTH = 2..4: u16 => len, set_len;
///     ]
/// }
/// ```
///
/// A field's type is a [`FieldValue`]. Without `min_len` the header writes
/// its own `check_len`.
macro_rules! header_view {
    (
        $(#[$doc:meta])*
        pub struct $name:ident;
        $(min_len: $min:expr;)?
        other: [$($other:ident = $other_range:expr),* $(,)?];
        fields: [$(
            $(#[$field_doc:meta])*
            $field:ident = $range:expr => $get:ident, $set:ident: $ty:ty;
        )*]
    ) => {
        mod field {
            use std::ops::Range;
            $(pub(crate) const $other: Range<usize> = $other_range;)*
            $(pub(crate) const $field: Range<usize> = $range;)*
        }

        $(#[$doc])*
        #[derive(Debug, Clone)]
        pub struct $name<T: AsRef<[u8]>> {
            buffer: T,
        }

        impl<T: AsRef<[u8]>> $name<T> {
            /// Wraps `buffer` without checking it: an accessor panics if the
            /// buffer is too short for its field. Use
            /// [`new_checked`](Self::new_checked) for untrusted bytes.
            pub const fn new_unchecked(buffer: T) -> Self {
                $name { buffer }
            }

            /// Wraps `buffer` after [`check_len`](Self::check_len), so that
            /// no accessor can index out of bounds. Field values are checked
            /// by the repr's `parse`, not here.
            pub fn new_checked(buffer: T) -> $crate::wire::Result<Self> {
                let view = Self::new_unchecked(buffer);
                view.check_len()?;
                Ok(view)
            }

            /// Gives the buffer back.
            pub fn into_inner(self) -> T {
                self.buffer
            }

            fn b(&self) -> &[u8] {
                self.buffer.as_ref()
            }

            $(
                /// Errors with [`Error::Truncated`](crate::wire::Error::Truncated)
                /// unless the buffer holds the whole header (more is fine:
                /// a payload or padding follows). One comparison.
                pub fn check_len(&self) -> $crate::wire::Result<()> {
                    if self.b().len() < $min {
                        return Err($crate::wire::Error::Truncated);
                    }
                    Ok(())
                }
            )?

            $(
                $(#[$field_doc])*
                pub fn $get(&self) -> $ty {
                    <$ty as $crate::wire::view::FieldValue>::read(&self.b()[field::$field])
                }
            )*
        }

        impl<T: AsRef<[u8]> + AsMut<[u8]>> $name<T> {
            fn b_mut(&mut self) -> &mut [u8] {
                self.buffer.as_mut()
            }

            $(
                #[doc = concat!("Writes the field [`", stringify!($get), "`](Self::", stringify!($get), ") reads.")]
                pub fn $set(&mut self, value: $ty) {
                    $crate::wire::view::FieldValue::write(&value, &mut self.b_mut()[field::$field])
                }
            )*
        }
    };
}

pub(crate) use header_view;

/// Gives the repr of a fixed-length header (`$len` bytes, all written by
/// its `emit`) a `to_bytes`: `emit` into a fresh array, for callers that
/// copy headers into their own send buffers. Tern, connect and the response
/// preamble have one; the lower headers (written in place by the DPDK
/// transport) do not.
///
/// ```text
/// repr_to_bytes!(FooRepr, FooPacket, FOO_LEN);
/// ```
macro_rules! repr_to_bytes {
    ($repr:ident, $view:ident, $len:ident) => {
        impl $repr {
            #[doc = concat!(
                                "This header as bytes: [`emit`](Self::emit) into a fresh `[u8; ",
                                stringify!($len),
                                "]`. A copy of that many bytes; never fails."
                            )]
            pub fn to_bytes(&self) -> [u8; $len] {
                let mut b = [0u8; $len];
                self.emit(&mut $view::new_unchecked(&mut b[..]));
                b
            }
        }
    };
}

pub(crate) use repr_to_bytes;
