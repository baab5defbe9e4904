//! How results reach the terminal: marks and colour for people, one JSON document for
//! scripts. Only names, labels, dates and reasons pass through here, never a secret value.

use std::io::IsTerminal;

use serde_json::Value;

pub struct Output {
    pub json: bool,
    colour: bool,
}

impl Output {
    /// Colour only on a terminal, and never when NO_COLOR is set to anything (no-color.org).
    pub fn new(json: bool) -> Self {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        Self {
            json,
            colour: !no_color && std::io::stdout().is_terminal(),
        }
    }

    /// ✓ or ✗, green or red where colour is on.
    pub fn mark(&self, ok: bool) -> String {
        let (mark, colour) = if ok { ("✓", "32") } else { ("✗", "31") };
        self.paint(mark, colour)
    }

    pub fn bold(&self, text: &str) -> String {
        self.paint(text, "1")
    }

    pub fn dim(&self, text: &str) -> String {
        self.paint(text, "2")
    }

    fn paint(&self, text: &str, code: &str) -> String {
        match self.colour {
            true => format!("\x1b[{code}m{text}\x1b[0m"),
            false => text.to_owned(),
        }
    }

    pub fn document(&self, value: &Value) {
        println!(
            "{}",
            serde_json::to_string_pretty(value).expect("a JSON value always serialises")
        );
    }
}
