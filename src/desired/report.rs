//! Collects the problems of one file found after deserializing, placing
//! each with the locator (key paths to line and column).
use std::path::PathBuf;

use super::error::ConfigError;
use super::locator::{Locator, Seg};

pub(crate) struct Report<'a> {
    pub file: PathBuf,
    pub locator: &'a Locator<'a>,
    pub errors: Vec<ConfigError>,
}

impl<'a> Report<'a> {
    pub(crate) fn new(file: PathBuf, locator: &'a Locator<'a>) -> Self {
        Report {
            file,
            locator,
            errors: Vec::new(),
        }
    }

    fn push(&mut self, (line, column): (usize, usize), message: String, hint: Option<String>) {
        let error = ConfigError::new(self.file.clone(), line, column, message).with_hint(hint);
        self.errors.push(error);
    }

    /// A problem with the key at `path` itself (e.g. a field that must not
    /// be given together with another).
    pub(crate) fn at_key(&mut self, path: &[Seg], message: String, hint: Option<String>) {
        let position = self.locator.key_position(path);
        self.push(position, message, hint);
    }

    /// A problem with the value at `path`.
    pub(crate) fn at_value(&mut self, path: &[Seg], message: String, hint: Option<String>) {
        let position = self.locator.value_position(path);
        self.push(position, message, hint);
    }

    /// A problem with item `index` of the list at `path`.
    pub(crate) fn at_item(
        &mut self,
        path: &[Seg],
        index: usize,
        items: &[String],
        message: String,
        hint: Option<String>,
    ) {
        let position = self.locator.item_position(path, index, items);
        self.push(position, message, hint);
    }
}
