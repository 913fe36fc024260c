//! Errors as the page says them: a key of the page's message catalogues (web/src/messages-en.js
//! and web/i18n/*.js) with the values it names, so the page can tell its reader what went wrong
//! in the reader's language. `Display` stays the English wording of the command line and the
//! console; the tests check every key exists with exactly these values ([`check_against_catalogue`]).

use std::collections::BTreeSet;

/// A message of the page's catalogues: its key and the values of its `{name}` placeholders.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageMessage {
    /// The catalogue key, e.g. `error.weights.truncated`.
    pub key: &'static str,
    /// `(name, value)` for each placeholder.
    pub params: Vec<(&'static str, String)>,
}

impl PageMessage {
    /// The message `key` without values.
    pub fn new(key: &'static str) -> Self {
        Self { key, params: Vec::new() }
    }

    /// Adds the value of the placeholder `{name}`.
    pub fn with(mut self, name: &'static str, value: impl ToString) -> Self {
        self.params.push((name, value.to_string()));
        self
    }
}

/// An error the page can say in its reader's language.
pub trait Localized: std::fmt::Display {
    /// The catalogue message for this error.
    fn page_message(&self) -> PageMessage;
}

/// The path of the page's English catalogue, from the workspace root.
pub const ENGLISH_CATALOGUE: &str = "web/src/messages-en.js";

/// Checks `message` against the English catalogue's source (`'key': 'text',` one per line): the
/// key exists and its text names exactly the message's placeholders. For the tests of every
/// crate that makes page messages.
pub fn check_against_catalogue(catalogue: &str, message: &PageMessage) -> Result<(), String> {
    let prefix = format!("'{}': ", message.key);
    let text = catalogue
        .lines()
        .find_map(|line| line.trim().strip_prefix(prefix.as_str()))
        .ok_or_else(|| format!("the key {} is not in {ENGLISH_CATALOGUE}", message.key))?;
    let given: BTreeSet<&str> = message.params.iter().map(|(name, _)| *name).collect();
    let named = placeholders(text);
    if named != given {
        return Err(format!("{}: the catalogue names {named:?}, the error gives {given:?}", message.key));
    }
    Ok(())
}

/// The names of a message's `{name}` placeholders (not the `{{…}}` marks around them).
pub fn placeholders(text: &str) -> BTreeSet<&str> {
    text.split('{')
        .skip(1)
        .filter_map(|part| part.split_once('}').map(|(name, _)| name))
        .filter(|name| !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
        .collect()
}

/// The error as a JS `Error`: its message is the English `Display` (for the console), and it
/// carries `key` and `params` (an object) for the page to say it from its catalogues.
#[cfg(feature = "js")]
pub fn js_error(err: &impl Localized) -> wasm_bindgen::JsValue {
    use wasm_bindgen::JsValue;
    let message = err.page_message();
    let error = js_sys::Error::new(&err.to_string());
    let params = js_sys::Object::new();
    for (name, value) in &message.params {
        // Setting a property of a fresh plain object cannot fail.
        let _ = js_sys::Reflect::set(&params, &JsValue::from_str(name), &JsValue::from_str(value));
    }
    let _ = js_sys::Reflect::set(&error, &JsValue::from_str("key"), &JsValue::from_str(message.key));
    let _ = js_sys::Reflect::set(&error, &JsValue::from_str("params"), &params);
    error.into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_names_in_single_braces() {
        assert_eq!(placeholders("a {x} and {long_name}, {{ltr:{y}}}, {{en:term}} and {}"), BTreeSet::from(["long_name", "x", "y"]));
    }

    #[test]
    fn a_message_is_checked_for_its_key_and_placeholders() {
        let catalogue = "export const EN = {\n  'a.b': 'at step {step}',\n};";
        assert_eq!(check_against_catalogue(catalogue, &PageMessage::new("a.b").with("step", 3)), Ok(()));
        assert!(check_against_catalogue(catalogue, &PageMessage::new("a.b")).is_err(), "a missing value");
        assert!(check_against_catalogue(catalogue, &PageMessage::new("a.c").with("step", 3)).is_err(), "a missing key");
    }
}
