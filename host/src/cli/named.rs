//! The CLI's side of [`crate::names`]: a clap value parser for any library enum with named
//! values, so flags like `--format` take the library's own type without the library
//! depending on clap. Errors, suggestions and `--help` come from clap's
//! `PossibleValuesParser`, as with a `ValueEnum`.

use std::{ffi::OsStr, marker::PhantomData};

use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser};

use crate::names::Named;

/// `#[arg(value_parser = named::<DataFormat>())]`.
#[must_use]
pub fn named<T: Named + Send + Sync>() -> NamedParser<T> {
    NamedParser(PhantomData)
}

/// The parser [`named`] returns.
#[derive(Debug)]
pub struct NamedParser<T>(PhantomData<fn() -> T>);

impl<T> Clone for NamedParser<T> {
    fn clone(&self) -> Self {
        Self(PhantomData)
    }
}

fn possible<T: Named>() -> impl Iterator<Item = PossibleValue> {
    T::VALUES.iter().map(|v| {
        // As clap's `ValueEnum` derive does with doc comments: no trailing period.
        PossibleValue::new(v.name)
            .help(v.help.strip_suffix('.').unwrap_or(v.help))
            .aliases(v.aliases.iter().copied())
    })
}

impl<T: Named + Send + Sync> TypedValueParser for NamedParser<T> {
    type Value = T;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &OsStr,
    ) -> Result<T, clap::Error> {
        let text = PossibleValuesParser::new(possible::<T>()).parse_ref(cmd, arg, value)?;
        T::from_name(&text).ok_or_else(|| clap::Error::new(clap::error::ErrorKind::InvalidValue))
    }

    fn possible_values(&self) -> Option<Box<dyn Iterator<Item = PossibleValue> + '_>> {
        Some(Box::new(possible::<T>()))
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::named;
    use crate::backtest::data::DataFormat;

    #[derive(Debug, Parser)]
    struct Args {
        #[arg(long, value_parser = named::<DataFormat>(), default_value_t = DataFormat::Auto)]
        format: DataFormat,
    }

    #[test]
    fn parses_names_aliases_defaults_and_refuses_others() {
        let a = Args::try_parse_from(["x", "--format", "fxcm-bars"]).unwrap();
        assert_eq!(a.format, DataFormat::FxcmBars);
        let a = Args::try_parse_from(["x"]).unwrap();
        assert_eq!(a.format, DataFormat::Auto);
        let e = Args::try_parse_from(["x", "--format", "fxcm-bar"]).unwrap_err();
        let text = e.to_string();
        assert!(text.contains("invalid value 'fxcm-bar'"), "{text}");
        assert!(text.contains("fxcm-bars"), "{text}");
    }
}
