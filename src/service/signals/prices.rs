//! The price table: US dollars per million tokens of each kind, per model, kept as data
//! (`prices.json` beside this file, built in; replaced at run time by `<data-dir>/prices.json`
//! when that file exists). A model is priced by the longest entry its name starts with, so
//! `claude-sonnet-4` prices `claude-sonnet-4-20250514`.

use std::collections::BTreeMap;
use std::path::Path;

use crate::model::{ModelUsage, Usage};

const BUILT_IN: &str = include_str!("prices.json");

pub use crate::model::ModelPrice as Price;

/// Where a data folder's own table is kept.
pub const FILE: &str = "prices.json";

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Prices(BTreeMap<String, Price>);

impl Prices {
    pub fn parse(text: &str) -> Result<Self, String> {
        serde_json::from_str(text)
            .map(Prices)
            .map_err(|e| e.to_string())
    }

    pub fn entries(&self) -> &BTreeMap<String, Price> {
        &self.0
    }

    /// A table as given (`PUT /api/prices`; its size is bounded by the request's), or the field
    /// that is wrong and why: prices must be numbers of dollars, 0 or more. `""` prices any
    /// model no longer prefix matches.
    pub fn checked(table: BTreeMap<String, Price>) -> Result<Self, (String, String)> {
        for (prefix, price) in &table {
            for (kind, v) in [
                ("input", price.input),
                ("output", price.output),
                ("cacheRead", price.cache_read),
                ("cacheWrite", price.cache_write),
            ] {
                if !(v.is_finite() && v >= 0.0) {
                    return Err((
                        format!("prices.{prefix}.{kind}"),
                        "must be a number of US dollars per million tokens, 0 or more".into(),
                    ));
                }
            }
        }
        Ok(Prices(table))
    }

    pub fn built_in() -> Self {
        Self::parse(BUILT_IN).expect("the built-in price table is valid")
    }

    /// The data folder's `prices.json` when there is one (a broken one is reported and the
    /// built-in table used).
    pub fn load(data_dir: &Path) -> Self {
        Self::own(data_dir).unwrap_or_else(Self::built_in)
    }

    /// The data folder's own table, when it has a valid one (a broken one is reported).
    pub fn own(data_dir: &Path) -> Option<Self> {
        let text = std::fs::read_to_string(data_dir.join(FILE)).ok()?;
        Self::parse(&text)
            .map_err(|err| {
                tracing::warn!(%err, "prices.json is not a price table; using the built-in one");
            })
            .ok()
    }

    pub fn of(&self, model: &str) -> Option<Price> {
        self.0
            .iter()
            .filter(|(prefix, _)| model.starts_with(prefix.as_str()))
            .max_by_key(|(prefix, _)| prefix.len())
            .map(|(_, price)| *price)
    }

    /// `models` priced and summed.
    pub fn usage(&self, mut models: Vec<ModelUsage>) -> Usage {
        let mut total = Usage::default();
        for m in &mut models {
            m.cost_usd = self.of(&m.model).map(|p| {
                (m.input_tokens as f64 * p.input
                    + m.output_tokens as f64 * p.output
                    + m.cache_read_tokens as f64 * p.cache_read
                    + m.cache_write_tokens as f64 * p.cache_write)
                    / 1_000_000.0
            });
            total.input_tokens += m.input_tokens;
            total.output_tokens += m.output_tokens;
            total.cache_read_tokens += m.cache_read_tokens;
            total.cache_write_tokens += m.cache_write_tokens;
            match m.cost_usd {
                Some(cost) => total.cost_usd += cost,
                None => total.unpriced.push(m.model.clone()),
            }
        }
        total.models = models;
        total
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_table_given_is_checked_naming_the_wrong_field() {
        let price = |input: f64| Price {
            input,
            output: 1.0,
            cache_read: 0.0,
            cache_write: 0.0,
        };
        let table = |entries: Vec<(&str, Price)>| {
            entries
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v))
                .collect::<BTreeMap<_, _>>()
        };
        assert!(Prices::checked(table(vec![("m", price(3.0))])).is_ok());
        assert_eq!(
            Prices::checked(table(vec![("m", price(-1.0))]))
                .unwrap_err()
                .0,
            "prices.m.input"
        );
        assert_eq!(
            Prices::checked(table(vec![("m", price(f64::NAN))]))
                .unwrap_err()
                .0,
            "prices.m.input"
        );
        // The empty prefix is the price of any other model.
        let any = Prices::checked(table(vec![("", price(1.0)), ("m", price(3.0))])).unwrap();
        assert_eq!(any.of("m-1").unwrap().input, 3.0);
        assert_eq!(any.of("other").unwrap().input, 1.0);
    }

    #[test]
    fn the_longest_prefix_prices_a_model_and_costs_add_up() {
        let prices = Prices::parse(
            r#"{"m": {"input": 1, "output": 2, "cacheRead": 0.5, "cacheWrite": 4},
                "m-big": {"input": 10, "output": 20, "cacheRead": 5, "cacheWrite": 40}}"#,
        )
        .unwrap();
        assert_eq!(prices.of("m-big-1").unwrap().input, 10.0);
        assert_eq!(prices.of("m-small").unwrap().input, 1.0);
        assert!(prices.of("other").is_none());
        let usage = prices.usage(vec![
            ModelUsage {
                model: "m-1".into(),
                messages: 2,
                input_tokens: 1_000_000,
                output_tokens: 500_000,
                cache_read_tokens: 2_000_000,
                cache_write_tokens: 250_000,
                cost_usd: None,
            },
            ModelUsage {
                model: "other".into(),
                messages: 1,
                input_tokens: 7,
                ..ModelUsage::default()
            },
        ]);
        // 1 + 1 + 1 + 1 dollars.
        assert_eq!(usage.models[0].cost_usd, Some(4.0));
        assert_eq!(usage.models[1].cost_usd, None);
        assert_eq!(usage.cost_usd, 4.0);
        assert_eq!(usage.input_tokens, 1_000_007);
        assert_eq!(usage.unpriced, ["other"]);
    }

    #[test]
    fn the_built_in_table_parses_and_prices_claude() {
        let prices = Prices::built_in();
        assert!(prices.of("claude-sonnet-4-5-20250929").is_some());
        assert!(Prices::parse("{\"m\": {\"input\": 1}}").is_err());
    }
}
