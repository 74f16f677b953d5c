//! An exported CSV read back: the header line's `key:value` pairs, the columns, the rows.
//! One reader for every test that opens epocd's CSV (the epocd tests include this file).

#![allow(dead_code)]

use std::path::Path;

/// An exported CSV: the header line's `key:value` pairs, the column names, the rows.
pub struct Csv {
    pub header: Vec<(String, String)>,
    pub columns: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

pub fn read_csv(path: &Path) -> Csv {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut lines = text.lines();
    let header = lines
        .next()
        .expect("header line")
        .split(", ")
        .filter_map(|kv| kv.split_once(':'))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect();
    let columns = lines
        .next()
        .expect("column names")
        .split(',')
        .map(str::to_owned)
        .collect();
    let rows = lines.map(|l| l.split(',').map(str::to_owned).collect()).collect();
    Csv {
        header,
        columns,
        rows,
    }
}

impl Csv {
    pub fn col(&self, name: &str) -> usize {
        self.columns
            .iter()
            .position(|c| c == name)
            .unwrap_or_else(|| panic!("no column {name} in {:?}", self.columns))
    }

    pub fn header(&self, key: &str) -> &str {
        self.header
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .unwrap_or_else(|| panic!("no {key} in the header line {:?}", self.header))
    }
}
