//! Enums of named codes, written once: a closed set of variants, each with
//! a fixed number (its wire code, the `#[repr(u8)]` discriminant) and a
//! fixed kebab-case name (for command lines, CSV files and logs).
//!
//! [`Status`](crate::Status), [`IdleMode`](crate::IdleMode), the Tern
//! header's [`PacketKind`](crate::wire::tern::PacketKind) and the connect
//! payload's [`ConnectStatus`](crate::wire::connect::ConnectStatus) are all
//! declared with [`code_enum!`], so a new variant is one line and its code,
//! name, `ALL` entry and parsers cannot drift apart.

/// Declares a `#[repr(u8)]` enum whose variants carry a code and a name,
/// with `ALL` (every variant, in declaration order), `code`, `from_code`,
/// `as_str` and `Display` (the name); and, when an error type is named after
/// the enum, `FromStr` (by name) and `TryFrom<u8>` (by code) failing with
/// `$err(String)` (the name or code that was not found).
///
/// ```text
/// code_enum! {
///     /// The enum's doc.
///     #[derive(Debug, Clone, Copy, PartialEq, Eq)]
///     pub enum Colour: UnknownColour {   // `: UnknownColour` is optional
///         /// A variant's doc.
///         Red = 0 => "red",
///         Light = 1 => "light-blue",
///     }
/// }
/// ```
///
/// Every method is a `match` or a scan of `ALL` (a handful of entries): no
/// allocation except for the error's string.
macro_rules! code_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident $(: $err:ident)? {$(
            $(#[$vmeta:meta])*
            $variant:ident = $code:literal => $str:literal,
        )*}
    ) => {
        $(#[$meta])*
        #[repr(u8)]
        pub enum $name {$(
            $(#[$vmeta])*
            $variant = $code,
        )*}

        impl $name {
            /// Every variant, in declaration order.
            pub const ALL: [$name; [$($code),*].len()] = [$($name::$variant),*];

            /// The wire code (the discriminant).
            pub const fn code(self) -> u8 {
                self as u8
            }

            /// The variant with wire code `code`, if any.
            pub const fn from_code(code: u8) -> Option<$name> {
                match code {
                    $($code => Some($name::$variant),)*
                    _ => None,
                }
            }

            /// The kebab-case name, as used on command lines, in CSV files
            /// and logs.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $str,)*
                }
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        $(
            impl ::std::str::FromStr for $name {
                type Err = $err;
                fn from_str(s: &str) -> Result<Self, Self::Err> {
                    $name::ALL
                        .into_iter()
                        .find(|v| v.as_str() == s)
                        .ok_or_else(|| $err(s.to_string()))
                }
            }

            impl TryFrom<u8> for $name {
                type Error = $err;
                fn try_from(code: u8) -> Result<Self, Self::Error> {
                    $name::from_code(code).ok_or_else(|| $err(code.to_string()))
                }
            }
        )?
    };
}

pub(crate) use code_enum;

#[cfg(test)]
mod tests {
    code_enum! {
        /// Codes that are not in declaration order, to show `from_code`
        /// goes by code and `ALL` by declaration.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum Colour: UnknownColour {
            /// Red.
            Red = 2 => "red",
            /// Light blue.
            LightBlue = 0 => "light-blue",
        }
    }

    #[derive(Debug, PartialEq, Eq)]
    pub struct UnknownColour(String);

    #[test]
    fn codes_names_and_all_agree() {
        assert_eq!(Colour::ALL, [Colour::Red, Colour::LightBlue]);
        assert_eq!(Colour::Red.code(), 2);
        assert_eq!(Colour::from_code(0), Some(Colour::LightBlue));
        assert_eq!(Colour::from_code(1), None);
        assert_eq!(Colour::LightBlue.to_string(), "light-blue");
        assert_eq!("red".parse(), Ok(Colour::Red));
        assert_eq!("blue".parse::<Colour>(), Err(UnknownColour("blue".into())));
        assert_eq!(Colour::try_from(2), Ok(Colour::Red));
        assert_eq!(Colour::try_from(7), Err(UnknownColour("7".into())));
    }
}
