//! A definition → everything a translation produces: the checked [`Program`], the
//! component's manifest, the parameter mapping and the risk-policy section.
//!
//! Every problem is collected with where it is (`parameters.fast_period.range`,
//! `rules[2].when, column 17`) and what to do; nothing is produced unless there is none.

use std::collections::BTreeMap;

use stratbox_manifest::{
    Capability, CapabilityRequest, Decimal, Manifest, ParamSpec, ParamValue, Problems, SIGNAL_TYPES,
};

use crate::{
    check::Env,
    definition::{Family, InputKind, Literal, Loaded, RuleAction, RuleTrigger},
    eval::{self, Value},
    expr, families,
    params::{self, RESERVED},
    program::{
        Action, BAR_TYPE_PARAM, Constraint, FORMAT, INSTRUMENT_PARAM, Input, Program, Rule,
        SourceRef, TRADE_SIZE_PARAM, Trigger,
    },
};

/// Version string written into manifests as the translator.
pub const TRANSLATOR: &str = concat!("stratbox-rules ", env!("CARGO_PKG_VERSION"));
/// Fuel per callback requested by translated components.
pub const FUEL_PER_CALLBACK: u64 = 2_000_000;
/// Memory requested by translated components.
pub const MAX_MEMORY_BYTES: u64 = 8 * 1024 * 1024;

/// One parameter of the mapping record: definition name and type ↔ component name and type.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ParamMapping {
    pub definition: String,
    pub definition_type: String,
    pub component: String,
    pub component_type: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default: Option<Literal>,
}

/// Everything a translation produces before anything is built.
#[derive(Debug, Clone)]
pub struct Translation {
    pub program: Program,
    /// The program as embedded in the component (pretty JSON).
    pub program_json: String,
    /// `stratbox.toml` of the generated crate.
    pub manifest_text: String,
    pub manifest: Manifest,
    pub params: Vec<ParamMapping>,
    /// The plugin's section of a risk policy (`risk-policy.toml`).
    pub risk_policy: String,
}

/// Translates a loaded definition.
pub fn translate(loaded: &Loaded) -> Result<Translation, Problems> {
    let def = &loaded.definition;
    let mut problems = Problems::default();
    check_identity(loaded, &mut problems);
    let template = families::template(def.family);
    let input = match def.market.input {
        InputKind::Bars => Input::Bars,
        InputKind::Quotes => Input::Quotes,
    };
    check_market(def, template.as_ref(), &mut problems);

    // Parameters.
    let mut specs: BTreeMap<String, ParamSpec> = BTreeMap::new();
    for (i, p) in def.parameters.iter().enumerate() {
        let at = format!("parameters[{i}] ({})", p.name);
        if !is_identifier(&p.name) {
            problems.push(
                &at,
                "a parameter name uses lowercase letters, digits and `_`, starting with a letter",
            );
        }
        if RESERVED.contains(&p.name.as_str()) {
            problems.push(
                &at,
                format!(
                    "`{}` is reserved: the translation sets it from `market`",
                    p.name
                ),
            );
        }
        if specs.contains_key(&p.name) {
            problems.push(&at, "declared twice");
            continue;
        }
        match params::to_spec(p) {
            Ok(spec) => {
                specs.insert(p.name.clone(), spec);
            }
            Err(list) => {
                for (field, message) in list {
                    problems.push(format!("{at}.{field}"), message);
                }
            }
        }
    }
    check_trade_size(&specs, &mut problems);
    if let Some(t) = &template {
        for (name, kind) in t.required {
            match def.parameters.iter().find(|p| p.name == *name) {
                None => problems.push(
                    "parameters",
                    format!(
                        "family {} needs the parameter `{name}` ({})",
                        def.family.name(),
                        kind.name()
                    ),
                ),
                Some(p) if p.kind != *kind => problems.push(
                    format!("parameters ({name})"),
                    format!(
                        "family {} needs `{name}` to be {}, not {}",
                        def.family.name(),
                        kind.name(),
                        p.kind.name()
                    ),
                ),
                Some(_) => {}
            }
        }
        for s in t.signals {
            if !def.signals.iter().any(|x| x.signal_type == *s) {
                problems.push(
                    "signals",
                    format!(
                        "family {} reads `{s}` signals: subscribe to them",
                        def.family.name()
                    ),
                );
            }
        }
    }

    // Signals.
    let mut signal_types: Vec<String> = Vec::new();
    for (i, s) in def.signals.iter().enumerate() {
        if !SIGNAL_TYPES.contains(&s.signal_type.as_str()) {
            problems.push(
                format!("signals[{i}].type"),
                format!(
                    "unknown signal type `{}` (known: {})",
                    s.signal_type,
                    SIGNAL_TYPES.join(", ")
                ),
            );
        } else if signal_types.contains(&s.signal_type) {
            problems.push(
                format!("signals[{i}]"),
                format!("`{}` is subscribed twice", s.signal_type),
            );
        } else {
            signal_types.push(s.signal_type.clone());
        }
    }
    // Expressions need a consistent parameter table; stop on parameter problems.
    if !problems.0.is_empty() {
        return Err(problems);
    }

    let infos = params::infos(&specs);
    let mut indicators = Vec::new();
    let mut crosses = 0;
    let mut lags = BTreeMap::new();
    let mut signals_read = Vec::new();

    // Constraints.
    let mut constraints = Vec::new();
    let all_constraints: Vec<(String, String)> = template
        .as_ref()
        .map(|t| {
            t.constraints
                .iter()
                .map(|c| (format!("family {}", def.family.name()), (*c).to_string()))
                .collect::<Vec<_>>()
        })
        .unwrap_or_default()
        .into_iter()
        .chain(
            def.constraints
                .iter()
                .enumerate()
                .map(|(i, c)| (format!("constraints[{i}]"), c.clone())),
        )
        .collect();
    for (at, text) in &all_constraints {
        let mut env = Env {
            text,
            params: &infos,
            input,
            signals: &signal_types,
            trigger: None,
            indicators: &mut indicators,
            crosses: &mut crosses,
            lags: &mut lags,
            signals_read: &mut signals_read,
        };
        match parse_and_check(&mut env, text) {
            Ok(check) => {
                if let Some(Value::Bool(false)) =
                    eval::constant(&check, &|n| default_value(&specs, n))
                {
                    problems.push(
                        at,
                        format!(
                            "`{text}` does not hold for the defaults ({})",
                            defaults_named(&specs, text)
                        ),
                    );
                }
                constraints.push(Constraint {
                    text: text.clone(),
                    check,
                });
            }
            Err(e) => problems.push(at, e),
        }
    }

    // Rules.
    let rule_defs = match (&template, def.family) {
        (Some(t), _) => {
            if !def.rules.is_empty() {
                problems.push(
                    "rules",
                    format!(
                        "family {} brings its own rules; use family `rules` to write yours",
                        def.family.name()
                    ),
                );
            }
            t.rules()
        }
        (None, Family::Rules) => {
            if def.rules.is_empty() {
                problems.push("rules", "family `rules` needs at least one rule");
            }
            def.rules.clone()
        }
        (None, _) => Vec::new(),
    };
    let mut rules = Vec::new();
    for (i, r) in rule_defs.iter().enumerate() {
        let at = if template.is_some() {
            format!("family {} rule `{}`", def.family.name(), r.when)
        } else {
            format!("rules[{i}].when")
        };
        let trigger = match r.on {
            RuleTrigger::Input => Trigger::Input,
            RuleTrigger::Signal => Trigger::Signal,
        };
        if trigger == Trigger::Signal && signal_types.is_empty() {
            problems.push(
                format!("rules[{i}].on"),
                "a rule `on: signal` needs a subscription under `signals`",
            );
            continue;
        }
        let mut env = Env {
            text: &r.when,
            params: &infos,
            input,
            signals: &signal_types,
            trigger: Some(trigger),
            indicators: &mut indicators,
            crosses: &mut crosses,
            lags: &mut lags,
            signals_read: &mut signals_read,
        };
        match parse_and_check(&mut env, &r.when) {
            Ok(when) => rules.push(Rule {
                name: r.name.clone().unwrap_or_else(|| format!("rule {i}")),
                on: trigger,
                when,
                then: action(r.then),
            }),
            Err(e) => problems.push(at, e),
        }
    }
    for s in &signal_types {
        if !signals_read.contains(s) && problems.0.is_empty() {
            problems.push("signals", format!("`{s}` is subscribed but no rule reads it; remove it (a translation requests only what it uses)"));
        }
    }
    check_risk(def, &specs, &rules, &mut problems);
    problems.clone().into_result()?;

    let program = Program {
        format: FORMAT,
        source: SourceRef {
            id: def.id.clone(),
            version: def.version.clone(),
            sha256: loaded.sha256.clone(),
        },
        input,
        indicators,
        crosses,
        lags: lags.into_iter().collect(),
        signals: signal_types.clone(),
        constraints,
        rules,
        one_order_at_a_time: def.risk.one_order_at_a_time,
    };
    let program_json =
        serde_json::to_string_pretty(&program).map_err(|e| one("program", e.to_string()))?;
    let (manifest_text, mapping) = manifest_text(loaded, &specs, &signal_types)?;
    let manifest =
        Manifest::parse(&manifest_text).map_err(|p| one("generated manifest", p.to_string()))?;
    Ok(Translation {
        program,
        program_json,
        manifest_text,
        manifest,
        params: mapping,
        risk_policy: risk_policy(def),
    })
}

fn one(at: &str, message: String) -> Problems {
    let mut p = Problems::default();
    p.push(at, message);
    p
}

const fn action(a: RuleAction) -> Action {
    match a {
        RuleAction::Buy => Action::Buy,
        RuleAction::Sell => Action::Sell,
        RuleAction::Long => Action::Long,
        RuleAction::Short => Action::Short,
        RuleAction::Flat => Action::Flat,
    }
}

/// Parses and checks one expression; the error quotes the text with a caret.
fn parse_and_check(env: &mut Env<'_>, text: &str) -> Result<crate::program::Expr, String> {
    let caret = |column: usize, message: &str| {
        format!(
            "column {column}: {message}\n    {text}\n    {}^",
            " ".repeat(column.saturating_sub(1))
        )
    };
    let ast = expr::parse(text).map_err(|e| caret(e.column, &e.message))?;
    env.condition(&ast).map_err(|e| caret(e.column, &e.message))
}

fn default_value(specs: &BTreeMap<String, ParamSpec>, name: &str) -> Option<Value> {
    let v = specs.get(name)?.default.as_ref()?;
    Some(match v {
        ParamValue::Bool(b) => Value::Bool(*b),
        ParamValue::Text(s) => Value::Text(s.clone()),
        other => Value::Num(params::as_f64(other)?),
    })
}

fn defaults_named(specs: &BTreeMap<String, ParamSpec>, text: &str) -> String {
    specs
        .iter()
        .filter(|(n, _)| text.contains(n.as_str()))
        .filter_map(|(n, s)| s.default.as_ref().map(|d| format!("{n} = {d}")))
        .collect::<Vec<_>>()
        .join(", ")
}

fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

fn check_identity(loaded: &Loaded, problems: &mut Problems) {
    let def = &loaded.definition;
    let mut chars = def.id.chars();
    let valid = def.id.len() <= 64
        && chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if !valid {
        problems.push("id", format!("`{}` is not a valid id (lowercase letters, digits and `-`, starting with a letter, at most 64)", def.id));
    }
    if let Err(e) = semver::Version::parse(&def.version) {
        problems.push(
            "version",
            format!(
                "`{}` is not a semantic version (like 1.2.0): {e}",
                def.version
            ),
        );
    }
}

fn check_market(
    def: &crate::definition::Definition,
    template: Option<&families::Template>,
    problems: &mut Problems,
) {
    let m = &def.market;
    let valid_instrument = m.instrument.rsplit_once('.').is_some_and(|(sym, venue)| {
        !sym.is_empty() && !venue.is_empty() && !m.instrument.contains(char::is_whitespace)
    });
    if !valid_instrument {
        problems.push(
            "market.instrument",
            format!(
                "`{}` is not an instrument id (SYMBOL.VENUE, e.g. GBP/USD.FXCM)",
                m.instrument
            ),
        );
    }
    match (m.input, &m.bar) {
        (InputKind::Bars, None) => problems.push(
            "market.bar",
            "a bars strategy names its bars, e.g. `1-MINUTE-BID-EXTERNAL`",
        ),
        (InputKind::Bars, Some(spec)) => {
            let parts: Vec<&str> = spec.split('-').collect();
            let ok = parts.len() == 4
                && parts[0].parse::<u64>().is_ok_and(|n| n > 0)
                && [
                    "SECOND", "MINUTE", "HOUR", "DAY", "WEEK", "MONTH", "TICK", "VOLUME", "VALUE",
                ]
                .contains(&parts[1])
                && ["BID", "ASK", "MID", "LAST"].contains(&parts[2])
                && ["EXTERNAL", "INTERNAL"].contains(&parts[3]);
            if !ok {
                problems.push("market.bar", format!("`{spec}` is not a bar specification (STEP-AGGREGATION-PRICE-SOURCE, e.g. 1-MINUTE-BID-EXTERNAL)"));
            }
        }
        (InputKind::Quotes, Some(_)) => problems.push(
            "market.bar",
            "a quotes strategy reads no bars; remove `bar` or set `input: bars`",
        ),
        (InputKind::Quotes, None) => {}
    }
    if let Some(t) = template
        && let Some(need) = t.input
        && need != m.input
    {
        problems.push(
            "market.input",
            format!("family {} reads bars", def.family.name()),
        );
    }
}

fn check_trade_size(specs: &BTreeMap<String, ParamSpec>, problems: &mut Problems) {
    let at = format!("parameters ({TRADE_SIZE_PARAM})");
    match specs.get(TRADE_SIZE_PARAM) {
        None => problems.push("parameters", format!("every definition needs a decimal parameter `{TRADE_SIZE_PARAM}` (the order quantity)")),
        Some(s) if s.kind != stratbox_manifest::ParamType::Decimal => problems.push(at, "`trade_size` must be a decimal"),
        Some(s) => {
            let positive_min = matches!(&s.min, Some(ParamValue::Decimal(d)) if d.raw > 0);
            if !positive_min {
                problems.push(at, "give `trade_size` a range with a min above 0, so that no deployment can send zero or negative quantities");
            }
        }
    }
}

fn decimal(problems: &mut Problems, at: &str, v: Option<&String>) -> Option<Decimal> {
    let v = v?;
    match v.parse::<Decimal>() {
        Ok(d) if d.raw > 0 => Some(d),
        Ok(_) => {
            problems.push(at, "must be greater than 0");
            None
        }
        Err(e) => {
            problems.push(at, e.to_string());
            None
        }
    }
}

fn check_risk(
    def: &crate::definition::Definition,
    specs: &BTreeMap<String, ParamSpec>,
    rules: &[Rule],
    problems: &mut Problems,
) {
    let r = &def.risk;
    let max_position = decimal(problems, "risk.max_position", r.max_position.as_ref());
    let max_order = decimal(
        problems,
        "risk.max_order_quantity",
        r.max_order_quantity.as_ref(),
    );
    decimal(problems, "risk.max_daily_loss", r.max_daily_loss.as_ref());
    decimal(problems, "risk.max_drawdown", r.max_drawdown.as_ref());
    for (name, v) in [
        ("max_open_orders", r.max_open_orders),
        ("max_orders_per_second", r.max_orders_per_second),
    ] {
        if v == Some(0) {
            problems.push(format!("risk.{name}"), "must be greater than 0");
        }
    }
    let Some(ParamValue::Decimal(size)) =
        specs.get(TRADE_SIZE_PARAM).and_then(|s| s.default.clone())
    else {
        return;
    };
    if let Some(m) = max_order
        && size.raw > m.raw
    {
        problems.push(
            "risk.max_order_quantity",
            format!("{m} is below the default trade_size {size}: every order would be refused"),
        );
    }
    let targets = rules
        .iter()
        .any(|r| matches!(r.then, Action::Long | Action::Short));
    if let Some(m) = max_position
        && targets
        && size.raw > m.raw
    {
        problems.push(
            "risk.max_position",
            format!("{m} is below the default trade_size {size}, the position the rules target"),
        );
    }
}

fn manifest_text(
    loaded: &Loaded,
    specs: &BTreeMap<String, ParamSpec>,
    signals: &[String],
) -> Result<(String, Vec<ParamMapping>), Problems> {
    let def = &loaded.definition;
    let mut plugin = toml::Table::new();
    plugin.insert("name".into(), def.id.clone().into());
    plugin.insert("version".into(), def.version.clone().into());
    let description = if def.description.is_empty() {
        format!(
            "Translated from strategy definition {} {} ({}).",
            def.id,
            def.version,
            def.family.name()
        )
    } else {
        def.description.clone()
    };
    plugin.insert("description".into(), description.into());
    plugin.insert(
        "authors".into(),
        toml::Value::Array(vec![TRANSLATOR.into()]),
    );

    let mut source = toml::Table::new();
    source.insert("definition".into(), def.id.clone().into());
    source.insert("definition-version".into(), def.version.clone().into());
    source.insert("definition-sha256".into(), loaded.sha256.clone().into());
    source.insert("family".into(), def.family.name().into());
    source.insert("translator".into(), TRANSLATOR.into());

    let mut table_params = toml::Table::new();
    let mut mapping = Vec::new();
    let (market_param, market_value, market_text) = match def.market.input {
        InputKind::Quotes => (
            INSTRUMENT_PARAM,
            def.market.instrument.clone(),
            "Instrument to subscribe to and trade.",
        ),
        InputKind::Bars => (
            BAR_TYPE_PARAM,
            format!(
                "{}-{}",
                def.market.instrument,
                def.market.bar.clone().unwrap_or_default()
            ),
            "Bars to trade on; their instrument is the one traded.",
        ),
    };
    let mut market = toml::Table::new();
    market.insert("type".into(), "string".into());
    market.insert("default".into(), market_value.clone().into());
    market.insert("description".into(), market_text.into());
    table_params.insert(market_param.into(), toml::Value::Table(market));
    mapping.push(ParamMapping {
        definition: "market".into(),
        definition_type: format!("{:?}", def.market.input).to_lowercase(),
        component: market_param.into(),
        component_type: "string".into(),
        default: Some(Literal::Text(market_value)),
    });
    for p in &def.parameters {
        let spec = &specs[&p.name];
        table_params.insert(p.name.clone(), toml::Value::Table(params::spec_table(spec)));
        mapping.push(ParamMapping {
            definition: p.name.clone(),
            definition_type: p.kind.name().into(),
            component: p.name.clone(),
            component_type: spec.kind.to_string(),
            default: p.default.clone(),
        });
    }

    let instruments = toml::Value::Array(vec![def.market.instrument.clone().into()]);
    let mut caps = toml::Table::new();
    let mut with_instruments = toml::Table::new();
    with_instruments.insert("instruments".into(), instruments.clone());
    caps.insert(
        Capability::MarketData.interface().into(),
        toml::Value::Table(with_instruments.clone()),
    );
    caps.insert(
        Capability::RiskGate.interface().into(),
        toml::Value::Table(with_instruments),
    );
    if !signals.is_empty() {
        let request = CapabilityRequest {
            instruments: vec![def.market.instrument.clone()],
            signal_types: signals.to_vec(),
            source_models: def
                .signals
                .iter()
                .flat_map(|s| s.source_models.clone())
                .collect(),
        };
        let value = toml::Value::try_from(&request)
            .map_err(|e| one("capabilities.signals", e.to_string()))?;
        caps.insert(Capability::Signals.interface().into(), value);
    }
    let mut limits = toml::Table::new();
    limits.insert(
        "fuel_per_callback".into(),
        toml::Value::Integer(FUEL_PER_CALLBACK.cast_signed()),
    );
    limits.insert(
        "max_memory_bytes".into(),
        toml::Value::Integer(MAX_MEMORY_BYTES.cast_signed()),
    );

    let mut root = toml::Table::new();
    root.insert("plugin".into(), toml::Value::Table(plugin));
    root.insert("source".into(), toml::Value::Table(source));
    root.insert("params".into(), toml::Value::Table(table_params));
    root.insert("capabilities".into(), toml::Value::Table(caps));
    root.insert("limits".into(), toml::Value::Table(limits));
    let body = toml::to_string(&root).map_err(|e| one("generated manifest", e.to_string()))?;
    let text = format!(
        "# Generated by {TRANSLATOR} from strategy definition {} {} (sha256 {}).\n# Do not edit: change the definition and translate again.\n\n{body}",
        def.id, def.version, loaded.sha256
    );
    Ok((text, mapping))
}

fn risk_policy(def: &crate::definition::Definition) -> String {
    let r = &def.risk;
    let mut section = toml::Table::new();
    for (key, v) in [
        ("max_position", &r.max_position),
        ("max_order_quantity", &r.max_order_quantity),
        ("max_daily_loss", &r.max_daily_loss),
        ("max_drawdown", &r.max_drawdown),
    ] {
        if let Some(v) = v {
            section.insert(key.into(), v.clone().into());
        }
    }
    for (key, v) in [
        ("max_open_orders", r.max_open_orders),
        ("max_orders_per_second", r.max_orders_per_second),
    ] {
        if let Some(v) = v {
            section.insert(key.into(), toml::Value::Integer(i64::from(v)));
        }
    }
    section.insert(
        "allowed_instruments".into(),
        toml::Value::Array(vec![def.market.instrument.clone().into()]),
    );
    section.insert(
        "allowed_order_types".into(),
        toml::Value::Array(vec!["market".into()]),
    );
    let mut plugins = toml::Table::new();
    plugins.insert(def.id.clone(), toml::Value::Table(section));
    let mut root = toml::Table::new();
    root.insert(
        "version".into(),
        format!("{}-{}", def.id, def.version).into(),
    );
    root.insert("plugins".into(), toml::Value::Table(plugins));
    let body = toml::to_string(&root).unwrap_or_default();
    format!(
        "# Risk constraints of strategy definition {} {}, as a stratbox risk policy.\n{body}",
        def.id, def.version
    )
}
