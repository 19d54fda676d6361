//! Enums whose values have stable names: the same text on the command line, in JSON request
//! and report fields, and in files. The library declares each such enum once with
//! [`named_enum!`]; the CLI turns the table into its argument parser (`cli::named`) and the
//! service and reports (de)serialize through it, so no library type depends on clap.

/// One value of a [`Named`] enum.
#[derive(Debug)]
pub struct NamedValue<T: 'static> {
    pub value: T,
    /// The canonical name (kebab-case).
    pub name: &'static str,
    /// Other names accepted when parsing.
    pub aliases: &'static [&'static str],
    /// One line for `--help`.
    pub help: &'static str,
}

/// An enum with a fixed table of names.
pub trait Named: Copy + Eq + Sized + 'static {
    /// What the enum is, for error messages ("data format").
    const WHAT: &'static str;
    /// Every value, in the order help lists them.
    const VALUES: &'static [NamedValue<Self>];

    /// The canonical name of `self`.
    #[must_use]
    fn name(self) -> &'static str {
        Self::VALUES
            .iter()
            .find(|v| v.value == self)
            .map_or("?", |v| v.name)
    }

    /// The value named `text` (a name or an alias, ASCII case-insensitive).
    fn from_name(text: &str) -> Option<Self> {
        Self::VALUES
            .iter()
            .find(|v| {
                v.name.eq_ignore_ascii_case(text)
                    || v.aliases.iter().any(|a| a.eq_ignore_ascii_case(text))
            })
            .map(|v| v.value)
    }

    /// The canonical names, comma-separated, for messages.
    #[must_use]
    fn names() -> String {
        Self::VALUES
            .iter()
            .map(|v| v.name)
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// `text` is not a name of `T`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{text}` is not a known {what}; expected one of: {names}")]
pub struct UnknownName {
    pub text: String,
    pub what: &'static str,
    pub names: String,
}

/// Parses `text` as a `T`, with an error that lists the names.
pub fn parse<T: Named>(text: &str) -> Result<T, UnknownName> {
    T::from_name(text).ok_or_else(|| UnknownName {
        text: text.to_owned(),
        what: T::WHAT,
        names: T::names(),
    })
}

/// Declares an enum with named values, and implements [`Named`], `Display`, `FromStr`,
/// `Serialize`, `Deserialize` and utoipa's `ToSchema` (a string enum) through the names:
///
/// ```ignore
/// named_enum! {
///     /// What to do with a bad value.
///     #[derive(Debug, Clone, Copy, PartialEq, Eq)]
///     pub enum Policy: "bad-value policy" {
///         Reject = "reject": "Refuse the whole import.",
///         DropAndReport = "drop-and-report" | "drop": "Leave the value out and report it.",
///     }
/// }
/// ```
#[macro_export]
macro_rules! named_enum {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident : $what:literal {
            $( $variant:ident = $text:literal $(| $alias:literal)* : $help:literal ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        $vis enum $name {
            $( #[doc = $help] $variant ),+
        }

        impl $crate::names::Named for $name {
            const WHAT: &'static str = $what;
            const VALUES: &'static [$crate::names::NamedValue<Self>] = &[
                $( $crate::names::NamedValue {
                    value: Self::$variant,
                    name: $text,
                    aliases: &[$($alias),*],
                    help: $help,
                } ),+
            ];
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str($crate::names::Named::name(*self))
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = $crate::names::UnknownName;
            fn from_str(text: &str) -> Result<Self, Self::Err> {
                $crate::names::parse(text)
            }
        }

        impl ::serde::Serialize for $name {
            fn serialize<S: ::serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str($crate::names::Named::name(*self))
            }
        }

        impl ::utoipa::PartialSchema for $name {
            fn schema() -> ::utoipa::openapi::RefOr<::utoipa::openapi::schema::Schema> {
                ::utoipa::openapi::schema::ObjectBuilder::new()
                    .schema_type(::utoipa::openapi::schema::Type::String)
                    .description(Some(concat!("A ", $what, ".")))
                    .enum_values(Some([$($text),+]))
                    .into()
            }
        }

        impl ::utoipa::ToSchema for $name {}

        impl<'de> ::serde::Deserialize<'de> for $name {
            fn deserialize<D: ::serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let text = <::std::borrow::Cow<'de, str> as ::serde::Deserialize>::deserialize(d)?;
                $crate::names::parse(&text).map_err(::serde::de::Error::custom)
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use super::{Named, parse};

    crate::named_enum! {
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        enum Fruit: "fruit" {
            Apple = "apple": "Red or green.",
            BloodOrange = "blood-orange" | "orange": "Red inside.",
        }
    }

    #[test]
    fn names_parse_display_and_serde_agree() {
        assert_eq!(Fruit::BloodOrange.to_string(), "blood-orange");
        assert_eq!("ORANGE".parse::<Fruit>(), Ok(Fruit::BloodOrange));
        assert_eq!(Fruit::from_name("Apple"), Some(Fruit::Apple));
        assert_eq!(
            serde_json::to_string(&Fruit::BloodOrange).unwrap(),
            "\"blood-orange\""
        );
        assert_eq!(
            serde_json::from_str::<Fruit>("\"orange\"").unwrap(),
            Fruit::BloodOrange
        );
        let e = parse::<Fruit>("pear").unwrap_err();
        assert_eq!(
            e.to_string(),
            "`pear` is not a known fruit; expected one of: apple, blood-orange"
        );
        let e = serde_json::from_str::<Fruit>("\"pear\"").unwrap_err();
        assert!(
            e.to_string()
                .contains("expected one of: apple, blood-orange"),
            "{e}"
        );
    }
}
