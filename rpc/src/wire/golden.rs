//! The golden-byte tests every header shares, written once: `test_parse`
//! (the view over the canonical bytes parses to the canonical repr) and
//! `test_emit` (the repr emitted over those bytes, header scribbled over
//! first, gives them back and leaves the payload alone). Each header keeps
//! its own `test_construct` and `test_deconstruct`, which name its fields.
//! A header with `to_bytes` (`repr_to_bytes!`) adds `to_bytes_is_emit`.

/// `golden_parse_emit_tests!(View, Repr, BYTES, repr_value, header_len)`
/// expands to the two tests inside a header's `tests` module; with a
/// trailing `, to_bytes` also to `to_bytes_is_emit` (the repr's `to_bytes`
/// is the canonical header bytes).
macro_rules! golden_parse_emit_tests {
    ($view:ident, $repr:ident, $bytes:ident, $value:expr, $header_len:expr, to_bytes) => {
        golden_parse_emit_tests!($view, $repr, $bytes, $value, $header_len);

        #[test]
        fn to_bytes_is_emit() {
            assert_eq!($value.to_bytes()[..], $bytes[..$header_len]);
        }
    };
    ($view:ident, $repr:ident, $bytes:ident, $value:expr, $header_len:expr) => {
        #[test]
        fn test_parse() {
            let view = $view::new_checked(&$bytes[..]).unwrap();
            assert_eq!($repr::parse(&view), Ok($value));
        }

        #[test]
        fn test_emit() {
            let repr = $value;
            assert_eq!(repr.buffer_len(), $header_len);
            let mut bytes = $bytes;
            bytes[..$header_len].fill(0xa5);
            repr.emit(&mut $view::new_unchecked(&mut bytes[..]));
            assert_eq!(bytes, $bytes, "emit writes the header, not the payload");
        }
    };
}

pub(crate) use golden_parse_emit_tests;
