//! A table as one file (`xnas table export RUN FILE`), which `--table FILE` replays from as it
//! would from the run folder: gzip-compressed JSON lines, a header line then one line per finished
//! evaluation.
//!
//! The header says what the table is — `{"format": "xnas-table", "version": 1, "xnas_version",
//! "source", "configurations": [{"training_hash", "config", "records"}]}` — so the dataset, its
//! splits, the recipe and the training hash each record was made with travel with it (`config` is
//! the whole training configuration, [`EvalConfig`]). Each record line is `{"evaluation",
//! "genome", "canonical", "training_hash", "record"}` with the record whole: every field an
//! objective may read. A reader refuses another format or a newer version, naming both.

use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::Path;

use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use serde::{Deserialize, Serialize};

use crate::record::{EvalConfig, MeasurementRecord};

use super::table::{TableEntry, TableError};

/// The header's `format`.
pub const TABLE_FORMAT: &str = "xnas-table";
/// The version this xnas writes and the newest it reads.
pub const TABLE_VERSION: u32 = 1;

/// The first line of a table file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TableHeader {
    pub format: String,
    pub version: u32,
    pub xnas_version: String,
    /// The run folder the table was exported from.
    pub source: String,
    /// Each training configuration the table holds records of.
    pub configurations: Vec<TableConfiguration>,
}

/// One training configuration of a table: its hash, the configuration itself, how many records.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TableConfiguration {
    pub training_hash: String,
    pub config: EvalConfig,
    pub records: usize,
}

/// One finished evaluation of a table file.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct RecordLine {
    /// Its id in the run it was exported from.
    evaluation: i64,
    genome: String,
    canonical: String,
    training_hash: String,
    record: MeasurementRecord,
}

/// Writes the finished evaluations of the run in `run` to `file` (gzip JSON lines), one per
/// canonical cell and training configuration (the first the run finished: a resumed run's reuse
/// of it, or an isomorphic twin trained again, adds nothing a replay reads); returns the header
/// written. The file appears whole or not at all: it is written beside its place and renamed.
pub fn export_table(run: &Path, file: &Path) -> Result<TableHeader, TableError> {
    let (source, mut entries) = super::table::store_entries(run)?;
    let mut seen = std::collections::HashSet::new();
    entries.retain(|entry| seen.insert((entry.training_hash.clone(), entry.genome.canonical())));
    let mut configurations: Vec<TableConfiguration> = Vec::new();
    for entry in &entries {
        match configurations.iter_mut().find(|c| c.training_hash == entry.training_hash) {
            Some(configuration) => configuration.records += 1,
            None => configurations.push(TableConfiguration {
                training_hash: entry.training_hash.clone(),
                config: entry.record.config.clone(),
                records: 1,
            }),
        }
    }
    let header = TableHeader {
        format: TABLE_FORMAT.into(),
        version: TABLE_VERSION,
        xnas_version: env!("CARGO_PKG_VERSION").into(),
        source: source.display().to_string(),
        configurations,
    };
    let bad = |e: std::io::Error| TableError::File { path: file.to_path_buf(), message: e.to_string() };
    let name = file.file_name().map_or_else(|| "table".into(), |n| n.to_string_lossy().into_owned());
    let staged = file.with_file_name(format!(".{name}.{}.partial", std::process::id()));
    let written = write_table(&staged, &header, entries);
    match written.and_then(|()| std::fs::rename(&staged, file)) {
        Ok(()) => Ok(header),
        Err(e) => {
            std::fs::remove_file(&staged).ok();
            Err(bad(e))
        }
    }
}

fn write_table(path: &Path, header: &TableHeader, entries: Vec<TableEntry>) -> std::io::Result<()> {
    let out = std::fs::File::create(path)?;
    // The best compression: a shipped table is read far more often than it is written.
    let mut gz = GzEncoder::new(BufWriter::new(out), flate2::Compression::best());
    write_line(&mut gz, header)?;
    for entry in entries {
        let line = RecordLine {
            evaluation: entry.evaluation,
            genome: entry.genome.compact(),
            canonical: entry.genome.canonical().to_string(),
            training_hash: entry.training_hash,
            record: entry.record,
        };
        write_line(&mut gz, &line)?;
    }
    gz.finish()?.into_inner().map_err(|e| e.into_error())?.sync_all()
}

fn write_line(out: &mut impl Write, value: &impl Serialize) -> std::io::Result<()> {
    serde_json::to_writer(&mut *out, value)?;
    out.write_all(b"\n")
}

/// The header and entries of a table file.
pub fn read_table_file(file: &Path) -> Result<(TableHeader, Vec<TableEntry>), TableError> {
    let error = |message: String| TableError::File { path: file.to_path_buf(), message };
    let opened = std::fs::File::open(file).map_err(|e| error(e.to_string()))?;
    let mut lines = BufReader::new(GzDecoder::new(opened)).lines();
    let first =
        lines.next().ok_or_else(|| error("it is empty; a table file starts with its header line".into()))?.map_err(
            |e| error(format!("not a gzip file of JSON lines ({e}); write one with `xnas table export RUN FILE`")),
        )?;
    let header = read_header(&first).map_err(error)?;
    let mut entries = Vec::new();
    for (index, line) in lines.enumerate() {
        let at = |message: String| error(format!("line {}: {message}", index + 2));
        let line = line.map_err(|e| at(e.to_string()))?;
        if line.trim().is_empty() {
            continue;
        }
        let parsed: RecordLine = serde_json::from_str(&line).map_err(|e| at(e.to_string()))?;
        let genome = parsed.genome.parse().map_err(|e| at(format!("genome {:?}: {e}", parsed.genome)))?;
        entries.push(TableEntry {
            evaluation: parsed.evaluation,
            genome,
            training_hash: parsed.training_hash,
            record: parsed.record,
        });
    }
    Ok((header, entries))
}

/// The header line, checked for the format and a version this xnas reads.
fn read_header(line: &str) -> Result<TableHeader, String> {
    let value: serde_json::Value =
        serde_json::from_str(line).map_err(|e| format!("its first line is not a table header: {e}"))?;
    if value["format"] != TABLE_FORMAT {
        return Err(format!(
            "its first line says format {}, not {TABLE_FORMAT:?}; write a table with `xnas table export RUN FILE`",
            value["format"]
        ));
    }
    let version = value["version"].as_u64().unwrap_or(0);
    if version == 0 || version > TABLE_VERSION as u64 {
        return Err(format!(
            "table format version {} is not one this xnas reads (1 to {TABLE_VERSION}); use a newer xnas",
            value["version"]
        ));
    }
    serde_json::from_value(value).map_err(|e| format!("its header: {e}"))
}

/// Whether an existing file is a table file (the only kind `xnas table export` replaces).
pub fn is_table_file(bytes: &[u8]) -> Result<(), String> {
    let mut first = String::new();
    let read = BufReader::new(GzDecoder::new(bytes)).read_line(&mut first);
    match read {
        Ok(_) if read_header(first.trim_end()).is_ok() => Ok(()),
        _ => Err("it exists and is not an xnas table file".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_of_another_format_or_a_newer_version_are_refused_naming_them() {
        let header = TableHeader {
            format: TABLE_FORMAT.into(),
            version: TABLE_VERSION,
            xnas_version: "0".into(),
            source: "/runs/t".into(),
            configurations: vec![],
        };
        let text = serde_json::to_string(&header).unwrap();
        assert_eq!(read_header(&text).unwrap(), header);
        let newer = text.replace("\"version\":1", "\"version\":2");
        assert!(read_header(&newer).unwrap_err().contains("version 2"), "{newer}");
        let other = text.replace("xnas-table", "optuna");
        assert!(read_header(&other).unwrap_err().contains("\"optuna\""));
        let mut gz = GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(format!("{text}\n").as_bytes()).unwrap();
        assert!(is_table_file(&gz.finish().unwrap()).is_ok());
        assert!(is_table_file(b"plain text").is_err());
    }
}
