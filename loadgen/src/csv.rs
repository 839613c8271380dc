//! The CSV format of run and sweep results: one row per rate and route.
//!
//! Plain RFC 4180 CSV with a header line; a field is quoted only when it
//! holds a comma, quote or newline. The reader finds columns by header name,
//! so files written by older or newer loadgens (fewer or extra columns) still
//! plot. Column meanings are listed in `loadgen/README.md`.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use crate::error::LoadgenError;
use crate::percentiles::Percentiles;
use crate::report::{RouteRow, RunReport};
use crate::route_stats::ERROR_KINDS;

/// The CSV header, in order.
pub fn columns() -> Vec<String> {
    let mut c: Vec<String> = [
        "rate_rps",
        "route",
        "offered_rps",
        "achieved_rps",
        "requests",
        "ok",
    ]
    .into_iter()
    .chain(Percentiles::COLUMNS)
    .chain(["service_p99_us", "deadline_us", "deadline_met_pct"])
    .map(String::from)
    .collect();
    c.extend(ERROR_KINDS.iter().map(|k| format!("err_{k}")));
    c.extend(
        [
            "failed",
            "timeouts",
            "mean_queue_us",
            "mean_exec_us",
            "send_lag_p99_us",
            "behind",
            "sent",
        ]
        .iter()
        .map(|s| s.to_string()),
    );
    c
}

fn num(v: f64) -> String {
    // Three decimals are below the histograms' resolution; trim the zeros.
    let s = format!("{v:.3}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s.is_empty() || s == "-" {
        "0".into()
    } else {
        s.to_string()
    }
}

fn quote(field: &str) -> String {
    if field.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", field.replace('"', "\"\""))
    } else {
        field.to_string()
    }
}

/// One row's fields, in [`columns`] order.
pub fn row_fields(r: &RouteRow) -> Vec<String> {
    let mut f = vec![
        num(r.rate_rps),
        quote(&r.route),
        num(r.offered_rps),
        num(r.achieved_rps),
        r.requests.to_string(),
        r.ok.to_string(),
    ];
    f.extend(r.latency.values().map(num));
    f.extend([
        num(r.service_p99_us),
        r.deadline_us.map(num).unwrap_or_default(),
        r.deadline_met_pct.map(num).unwrap_or_default(),
    ]);
    f.extend(r.errors.iter().map(|e| e.to_string()));
    f.extend([
        r.failed.to_string(),
        r.timeouts.to_string(),
        num(r.mean_queue_us),
        num(r.mean_exec_us),
        num(r.send_lag_p99_us),
        (r.behind as u8).to_string(),
        r.sent.to_string(),
    ]);
    f
}

/// Writes results as they come: the header on creation, then each report's
/// rows, flushed, so an interrupted sweep keeps the rates it finished.
pub struct CsvWriter {
    path: PathBuf,
    out: BufWriter<File>,
}

impl CsvWriter {
    /// Creates (or truncates) `path`, creating missing parent directories,
    /// and writes the header.
    pub fn create(path: &Path) -> Result<CsvWriter, LoadgenError> {
        let err = |e| LoadgenError::io(format!("writing {}", path.display()), e);
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(err)?;
        }
        let mut out = BufWriter::new(File::create(path).map_err(err)?);
        writeln!(out, "{}", columns().join(",")).map_err(err)?;
        out.flush().map_err(err)?;
        Ok(CsvWriter {
            path: path.to_path_buf(),
            out,
        })
    }

    /// Appends every row of `report` and flushes.
    pub fn write_report(&mut self, report: &RunReport) -> Result<(), LoadgenError> {
        let path = self.path.display().to_string();
        let err = |e| LoadgenError::io(format!("writing {path}"), e);
        for row in &report.rows {
            writeln!(self.out, "{}", row_fields(row).join(",")).map_err(err)?;
        }
        self.out.flush().map_err(err)
    }
}

/// Splits one CSV line into fields (RFC 4180 quoting; no embedded newlines).
fn split_line(line: &str) -> Result<Vec<String>, String> {
    let mut fields = Vec::new();
    let mut cur = String::new();
    let mut chars = line.chars().peekable();
    let mut quoted = false;
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (false, ',') => fields.push(std::mem::take(&mut cur)),
            (false, '"') if cur.is_empty() => quoted = true,
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                cur.push('"');
            }
            (true, '"') => quoted = false,
            (_, c) => cur.push(c),
        }
    }
    if quoted {
        return Err("unterminated quote".into());
    }
    fields.push(cur);
    Ok(fields)
}

/// Reads the rows of a loadgen CSV file. `rate_rps`, `route`, `p50_us` and
/// `p99_us` are required; other columns default to zero / none when absent.
/// Errors name the file, the line and the column.
pub fn read_rows(path: &Path) -> Result<Vec<RouteRow>, LoadgenError> {
    let name = path.display().to_string();
    let bad = |why: String| LoadgenError::Csv {
        path: name.clone(),
        why,
    };
    let text = std::fs::read_to_string(path).map_err(|e| bad(e.to_string()))?;
    let mut lines = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty());
    let (_, header) = lines.next().ok_or_else(|| bad("empty file".into()))?;
    let header = split_line(header).map_err(|e| bad(format!("line 1: {e}")))?;
    let index: HashMap<&str, usize> = header
        .iter()
        .enumerate()
        .map(|(i, h)| (h.trim(), i))
        .collect();
    for required in ["rate_rps", "route", "p50_us", "p99_us"] {
        if !index.contains_key(required) {
            return Err(bad(format!("no {required:?} column: not a loadgen CSV")));
        }
    }
    let mut rows = Vec::new();
    for (lineno, line) in lines {
        let lineno = lineno + 1;
        let fields = split_line(line).map_err(|e| bad(format!("line {lineno}: {e}")))?;
        let get = |col: &str| {
            index
                .get(col)
                .and_then(|&i| fields.get(i))
                .map(|s| s.trim())
                .filter(|s| !s.is_empty())
        };
        let float = |col: &str| -> Result<Option<f64>, LoadgenError> {
            get(col)
                .map(|s| {
                    s.parse::<f64>().map_err(|_| {
                        bad(format!(
                            "line {lineno}, column {col}: {s:?} is not a number"
                        ))
                    })
                })
                .transpose()
        };
        let int = |col: &str| -> Result<u64, LoadgenError> {
            get(col)
                .map(|s| {
                    s.parse::<u64>().map_err(|_| {
                        bad(format!("line {lineno}, column {col}: {s:?} is not a count"))
                    })
                })
                .transpose()
                .map(|v| v.unwrap_or(0))
        };
        let mut errors = [0u64; ERROR_KINDS.len()];
        for (i, k) in ERROR_KINDS.iter().enumerate() {
            errors[i] = int(&format!("err_{k}"))?;
        }
        let mut latency = [0.0; 5];
        for (v, col) in latency.iter_mut().zip(Percentiles::COLUMNS) {
            *v = float(col)?.unwrap_or(0.0);
        }
        let latency = Percentiles::from_values(latency);
        rows.push(RouteRow {
            rate_rps: float("rate_rps")?
                .ok_or_else(|| bad(format!("line {lineno}: empty rate_rps")))?,
            route: get("route")
                .ok_or_else(|| bad(format!("line {lineno}: empty route")))?
                .to_string(),
            offered_rps: float("offered_rps")?.unwrap_or(0.0),
            achieved_rps: float("achieved_rps")?.unwrap_or(0.0),
            requests: int("requests")?,
            sent: int("sent")?,
            ok: int("ok")?,
            latency,
            service_p99_us: float("service_p99_us")?.unwrap_or(0.0),
            deadline_us: float("deadline_us")?,
            deadline_met_pct: float("deadline_met_pct")?,
            errors,
            failed: int("failed")?,
            timeouts: int("timeouts")?,
            mean_queue_us: float("mean_queue_us")?.unwrap_or(0.0),
            mean_exec_us: float("mean_exec_us")?.unwrap_or(0.0),
            send_lag_p99_us: float("send_lag_p99_us")?.unwrap_or(0.0),
            behind: int("behind")? != 0,
        });
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_handles_quotes() {
        assert_eq!(
            split_line("a,\"b,c\",\"d\"\"e\",").unwrap(),
            vec!["a", "b,c", "d\"e", ""]
        );
        assert!(split_line("\"open").is_err());
        assert_eq!(quote("x,y"), "\"x,y\"");
        assert_eq!(num(12.0), "12");
        assert_eq!(num(0.25), "0.25");
        assert_eq!(num(0.0), "0");
    }

    #[test]
    fn bad_files_are_errors_not_panics() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.csv");
        for content in [
            "",
            "a,b\n1,2\n",
            "rate_rps,route,p50_us,p99_us\nx,/a,1,2\n",
            "rate_rps,route,p50_us,p99_us\n1,\"/a,1,2\n",
        ] {
            std::fs::write(&p, content).unwrap();
            let e = read_rows(&p).unwrap_err();
            assert!(e.to_string().contains("x.csv"), "{e}");
        }
        assert!(read_rows(&dir.path().join("missing.csv")).is_err());
        std::fs::write(&p, "rate_rps,route,p50_us,p99_us,extra\n10,/a,1,2,zzz\n").unwrap();
        let rows = read_rows(&p).unwrap();
        assert_eq!(
            (
                rows[0].rate_rps,
                rows[0].latency.p99_us,
                rows[0].deadline_met_pct
            ),
            (10.0, 2.0, None)
        );
    }
}
