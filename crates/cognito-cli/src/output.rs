//! Text output: colours only on a terminal and never under `NO_COLOR` (anstream decides),
//! JSON members in the order the token holds them.

use anstyle::{AnsiColor, Style};
use serde::de::{MapAccess, Visitor};
use serde_json::value::RawValue;

/// Green, for a pass.
pub(crate) const GOOD: Style = AnsiColor::Green.on_default().bold();
/// Red, for a failure.
pub(crate) const BAD: Style = AnsiColor::Red.on_default().bold();
/// Dim, for what did not run.
pub(crate) const DIM: Style = Style::new().dimmed();
/// Bold, for headings.
pub(crate) const HEAD: Style = Style::new().bold();

/// `text` in `style` (plain when colours are off: anstream strips the codes).
pub(crate) fn paint(style: Style, text: &str) -> String {
    format!("{style}{text}{style:#}")
}

/// A sentence on stderr: `cognito: <message>`.
pub(crate) fn error(message: &str) {
    anstream::eprintln!("{}: {message}", paint(BAD, "cognito"));
}

/// The members of a JSON object text, in its order, each value as its own JSON text (nothing
/// reordered, no number rewritten); `None` when the text is not an object.
pub(crate) fn members(json: &str) -> Option<Vec<(String, Box<RawValue>)>> {
    struct Members;
    impl<'de> Visitor<'de> for Members {
        type Value = Vec<(String, Box<RawValue>)>;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a JSON object")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut members = Vec::new();
            while let Some(entry) = map.next_entry::<String, Box<RawValue>>()? {
                members.push(entry);
            }
            Ok(members)
        }
    }
    let mut de = serde_json::Deserializer::from_str(json);
    serde::Deserializer::deserialize_map(&mut de, Members).ok()
}

/// The JSON text `json` as a raw value for output (exactly as given), if it is JSON.
pub(crate) fn raw(json: Option<&str>) -> Option<Box<RawValue>> {
    json.and_then(|text| RawValue::from_string(text.trim().to_owned()).ok())
}
