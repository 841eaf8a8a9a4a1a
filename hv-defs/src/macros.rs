//! Crate-internal macros.

/// Defines an *open enum*: a `#[repr(transparent)]` newtype over an integer with associated
/// constants for the named values.
///
/// Unlike a Rust `enum`, every bit pattern is a valid value, so an open enum can sit inside a
/// structure read from host memory. The generated type has:
///
/// * `pub const NAME: Self` for every value, with its doc comment;
/// * `name()`, the constant's identifier or `None` for an unnamed value;
/// * `ALL`, every named value in declaration order (used by the golden tests);
/// * a `Debug` that prints `NAME` or `Type(0x…)`;
/// * `new`/`get` and `From` conversions to and from the integer, and the zerocopy derives.
macro_rules! open_enum {
    (
        $(#[$meta:meta])*
        $vis:vis struct $name:ident($inner:ty) {
            $(
                $(#[$vmeta:meta])*
                $variant:ident = $value:expr,
            )*
        }
    ) => {
        $(#[$meta])*
        #[repr(transparent)]
        #[derive(
            Copy, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Default,
            zerocopy::FromBytes, zerocopy::IntoBytes, zerocopy::Immutable,
        )]
        $vis struct $name($inner);

        #[allow(non_upper_case_globals)]
        impl $name {
            $(
                $(#[$vmeta])*
                pub const $variant: Self = Self($value);
            )*

            /// Wraps a raw value, named or not.
            #[must_use]
            pub const fn new(value: $inner) -> Self {
                Self(value)
            }

            /// The raw value.
            #[must_use]
            pub const fn get(self) -> $inner {
                self.0
            }

            /// Every named value, in declaration order.
            pub const ALL: &'static [Self] = &[$(Self::$variant),*];

            /// The identifier of this value's constant, or `None` for a value without a name.
            #[must_use]
            pub const fn name(self) -> Option<&'static str> {
                $(
                    if self.0 == $value {
                        return Some(stringify!($variant));
                    }
                )*
                None
            }
        }

        impl core::fmt::Debug for $name {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                match self.name() {
                    Some(name) => f.write_str(name),
                    None => write!(f, "{}({:#x})", stringify!($name), self.0),
                }
            }
        }

        impl From<$inner> for $name {
            fn from(value: $inner) -> Self {
                Self(value)
            }
        }

        impl From<$name> for $inner {
            fn from(value: $name) -> Self {
                value.0
            }
        }

        #[cfg(feature = "defmt")]
        impl defmt::Format for $name {
            fn format(&self, f: defmt::Formatter<'_>) {
                match self.name() {
                    Some(name) => defmt::write!(f, "{=str}", name),
                    None => defmt::write!(f, "{=str}({=u64:#x})", stringify!($name), self.0 as u64),
                }
            }
        }
    };
}
