//! `loadgen plot`: latency and deadline-met % against offered load, drawn in
//! Rust with plotters (SVG or PNG by the output's extension).
//!
//! One row of panels per route (the `all` row last): on the left p99 (solid)
//! and p50 (dashed) latency on a log scale, on the right the deadline-met
//! percentage. Each input CSV is one coloured line, labelled with the file's
//! stem (e.g. one file per policy). Points where loadgen reported that the
//! run fell behind the offered rate are drawn as crosses instead of dots.
//!
//! Text needs a TrueType font (plotters' `ab_glyph` backend has no built-in
//! one): DejaVu Sans or Liberation Sans from the usual system paths, or the
//! file named by `TERN_PLOT_FONT`.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use plotters::coord::Shift;
use plotters::coord::ranged1d::ValueFormatter;
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;

use crate::csv::read_rows;
use crate::error::LoadgenError;
use crate::report::{ALL_ROUTES, RouteRow};

/// Fonts tried in order when `TERN_PLOT_FONT` is not set.
const FONT_PATHS: &[&str] = &[
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
    "/usr/share/fonts/liberation/LiberationSans-Regular.ttf",
];

/// One line of the plot: a label and the rows of one CSV file.
#[derive(Clone, Debug)]
pub struct Series {
    /// Legend label (the file stem for `loadgen plot`).
    pub label: String,
    /// The file's rows, any order.
    pub rows: Vec<RouteRow>,
}

const COLORS: [RGBColor; 8] = [
    RGBColor(31, 119, 180),
    RGBColor(214, 39, 40),
    RGBColor(44, 160, 44),
    RGBColor(255, 127, 14),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(23, 190, 207),
];

/// Registers a system font with plotters once per process. Costs one file
/// read (the font stays in memory for the life of the process).
fn ensure_font() -> Result<(), LoadgenError> {
    static FONT: OnceLock<Result<(), String>> = OnceLock::new();
    FONT.get_or_init(|| {
        let candidates: Vec<PathBuf> = match std::env::var_os("TERN_PLOT_FONT") {
            Some(p) => vec![PathBuf::from(p)],
            None => FONT_PATHS.iter().map(PathBuf::from).collect(),
        };
        for path in &candidates {
            if let Ok(bytes) = std::fs::read(path) {
                let bytes: &'static [u8] = Box::leak(bytes.into_boxed_slice());
                if plotters::style::register_font("sans-serif", FontStyle::Normal, bytes).is_ok() {
                    return Ok(());
                }
            }
        }
        Err(format!(
            "no usable TrueType font (tried {}); install fonts-dejavu-core (scripts/setup.sh does) \
             or set TERN_PLOT_FONT=/path/to/font.ttf",
            candidates
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ))
    })
    .clone()
    .map_err(LoadgenError::Plot)
}

/// Reads each CSV (label = file stem) and draws them into `out` (`.svg` or
/// `.png`). Errors name the bad file or the unsupported extension.
pub fn plot_files(inputs: &[PathBuf], out: &Path, title: Option<&str>) -> Result<(), LoadgenError> {
    if inputs.is_empty() {
        return Err(LoadgenError::Usage(
            "plot: give at least one CSV file".into(),
        ));
    }
    let mut series = Vec::with_capacity(inputs.len());
    for p in inputs {
        let label = p
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| p.display().to_string());
        series.push(Series {
            label,
            rows: read_rows(p)?,
        });
    }
    plot_series(
        &series,
        out,
        title.unwrap_or("loadgen: latency and deadlines vs offered load"),
    )
}

/// Draws `series` into `out`; the format follows the extension (`svg`,
/// `png`). The image is 1200 px wide and 360 px tall per route.
pub fn plot_series(series: &[Series], out: &Path, title: &str) -> Result<(), LoadgenError> {
    let routes = route_order(series);
    if routes.is_empty() {
        return Err(LoadgenError::Plot("the input files have no rows".into()));
    }
    ensure_font()?;
    if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|e| LoadgenError::io(format!("creating {}", dir.display()), e))?;
    }
    let size = (1200u32, 60 + 360 * routes.len() as u32);
    let ext = out
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    match ext.as_deref() {
        Some("svg") => draw(
            SVGBackend::new(out, size).into_drawing_area(),
            series,
            &routes,
            title,
        ),
        Some("png") => draw(
            BitMapBackend::new(out, size).into_drawing_area(),
            series,
            &routes,
            title,
        ),
        _ => Err(LoadgenError::Usage(format!(
            "plot: {}: the output must end in .svg or .png",
            out.display()
        ))),
    }
}

/// Routes in order of first appearance, with `all` last and left out when
/// there is only one other route (it would repeat it).
fn route_order(series: &[Series]) -> Vec<String> {
    let mut routes: Vec<String> = Vec::new();
    let mut has_all = false;
    for r in series.iter().flat_map(|s| &s.rows) {
        if r.route == ALL_ROUTES {
            has_all = true;
        } else if !routes.contains(&r.route) {
            routes.push(r.route.clone());
        }
    }
    if has_all && routes.len() != 1 {
        routes.push(ALL_ROUTES.to_string());
    }
    routes
}

fn plot_err<E: std::fmt::Debug>(e: E) -> LoadgenError {
    LoadgenError::Plot(format!("{e:?}"))
}

/// `(rate, value)` points of one file and route, sorted by rate.
fn points(
    rows: &[RouteRow],
    route: &str,
    value: impl Fn(&RouteRow) -> Option<f64>,
) -> Vec<(f64, f64, bool)> {
    let mut p: Vec<(f64, f64, bool)> = rows
        .iter()
        .filter(|r| r.route == route)
        .filter_map(|r| value(r).map(|v| (r.rate_rps, v, r.behind)))
        .filter(|(x, y, _)| x.is_finite() && y.is_finite())
        .collect();
    p.sort_by(|a, b| a.0.total_cmp(&b.0));
    p
}

fn draw<DB: DrawingBackend>(
    root: DrawingArea<DB, Shift>,
    series: &[Series],
    routes: &[String],
    title: &str,
) -> Result<(), LoadgenError> {
    root.fill(&WHITE).map_err(plot_err)?;
    let (top, body) = root.split_vertically(60);
    top.titled(title, ("sans-serif", 24)).map_err(plot_err)?;
    let panels = body.split_evenly((routes.len(), 2));

    let all_rows = || series.iter().flat_map(|s| s.rows.iter());
    let (mut xmin, mut xmax) = all_rows().fold((f64::MAX, f64::MIN), |(lo, hi), r| {
        (lo.min(r.rate_rps), hi.max(r.rate_rps))
    });
    if xmin > xmax {
        (xmin, xmax) = (0.0, 1.0);
    }
    let pad = ((xmax - xmin) * 0.05).max(xmax * 0.05).max(1.0);
    let xrange = (xmin - pad).max(0.0)..xmax + pad;

    for (i, route) in routes.iter().enumerate() {
        let rows_of = |s: &Series| {
            s.rows
                .iter()
                .filter(|r| &r.route == route)
                .cloned()
                .collect::<Vec<_>>()
        };
        // Latency panel, log scale.
        let lat: Vec<f64> = series
            .iter()
            .flat_map(|s| {
                rows_of(s)
                    .into_iter()
                    .flat_map(|r| [r.latency.p50_us, r.latency.p99_us])
            })
            .filter(|v| v.is_finite() && *v > 0.0)
            .collect();
        let ylo = lat
            .iter()
            .cloned()
            .fold(f64::MAX, f64::min)
            .clamp(0.1, 1e12)
            * 0.8;
        let yhi = (lat.iter().cloned().fold(0.0, f64::max) * 1.25).max(ylo * 10.0);
        let mut chart = ChartBuilder::on(&panels[2 * i])
            .caption(
                format!("{route}: p99 (solid), p50 (dashed)"),
                ("sans-serif", 18),
            )
            .margin(10)
            .x_label_area_size(40)
            .y_label_area_size(70)
            .build_cartesian_2d(xrange.clone(), (ylo..yhi).log_scale())
            .map_err(plot_err)?;
        draw_mesh(&mut chart, "latency", &|y| axis_us(*y))?;
        for (k, s) in series.iter().enumerate() {
            let color = COLORS[k % COLORS.len()];
            let p99 = points(&s.rows, route, |r| {
                Some(r.latency.p99_us).filter(|v| *v > 0.0)
            });
            let p50 = points(&s.rows, route, |r| {
                Some(r.latency.p50_us).filter(|v| *v > 0.0)
            });
            draw_line(&mut chart, &p99, color, Some(&s.label))?;
            chart
                .draw_series(DashedLineSeries::new(
                    p50.iter().map(|&(x, y, _)| (x, y)),
                    6,
                    4,
                    color.stroke_width(1),
                ))
                .map_err(plot_err)?;
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .draw()
            .map_err(plot_err)?;

        // Deadline-met panel.
        let mut chart = ChartBuilder::on(&panels[2 * i + 1])
            .caption(format!("{route}: deadline met (%)"), ("sans-serif", 18))
            .margin(10)
            .x_label_area_size(40)
            .y_label_area_size(50)
            .build_cartesian_2d(xrange.clone(), 0.0..105.0)
            .map_err(plot_err)?;
        draw_mesh(&mut chart, "deadline met (%)", &|y| format!("{y:.0}"))?;
        for (k, s) in series.iter().enumerate() {
            let color = COLORS[k % COLORS.len()];
            let met = points(&s.rows, route, |r| r.deadline_met_pct);
            draw_line(&mut chart, &met, color, None)?;
        }
    }
    root.present().map_err(plot_err)
}

/// A latency axis label: µs below 1 ms, else ms or s, without trailing zeros.
fn axis_us(us: f64) -> String {
    let trim = |v: f64| {
        let s = format!("{v:.3}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    };
    if us >= 1e6 {
        format!("{}s", trim(us / 1e6))
    } else if us >= 1e3 {
        format!("{}ms", trim(us / 1e3))
    } else {
        format!("{}µs", trim(us))
    }
}

/// The grid of a panel: offered load along x (whole req/s), `y_desc` up y
/// with `y_label` for its tick labels, light grid lines.
fn draw_mesh<DB: DrawingBackend, Y>(
    chart: &mut ChartContext<'_, DB, Cartesian2d<RangedCoordf64, Y>>,
    y_desc: &str,
    y_label: &dyn Fn(&Y::ValueType) -> String,
) -> Result<(), LoadgenError>
where
    Y: Ranged + ValueFormatter<Y::ValueType>,
{
    chart
        .configure_mesh()
        .x_desc("offered load (req/s, all routes)")
        .y_desc(y_desc)
        .light_line_style(RGBColor(238, 238, 238))
        .x_label_formatter(&|x| format!("{x:.0}"))
        .y_label_formatter(y_label)
        .draw()
        .map_err(plot_err)
}

/// A solid line through `pts` with its markers (dots for ordinary points,
/// crosses where loadgen fell behind), in the legend as `label` if given.
fn draw_line<DB: DrawingBackend, CT: CoordTranslate<From = (f64, f64)>>(
    chart: &mut ChartContext<'_, DB, CT>,
    pts: &[(f64, f64, bool)],
    color: RGBColor,
    label: Option<&str>,
) -> Result<(), LoadgenError> {
    let line = chart
        .draw_series(LineSeries::new(
            pts.iter().map(|&(x, y, _)| (x, y)),
            color.stroke_width(2),
        ))
        .map_err(plot_err)?;
    if let Some(label) = label {
        line.label(label).legend(move |(x, y)| {
            PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
        });
    }
    chart
        .draw_series(
            pts.iter()
                .filter(|p| !p.2)
                .map(|&(x, y, _)| Circle::new((x, y), 3, color.filled())),
        )
        .map_err(plot_err)?;
    chart
        .draw_series(
            pts.iter()
                .filter(|p| p.2)
                .map(|&(x, y, _)| Cross::new((x, y), 5, color.stroke_width(2))),
        )
        .map_err(plot_err)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::csv::CsvWriter;
    use crate::report::RunReport;
    use crate::route_stats::RouteStats;
    use std::time::Duration;

    /// A synthetic sweep: latency grows with the rate; the last point falls
    /// behind.
    fn synthetic_csv(path: &Path, scale: u64) {
        let mut w = CsvWriter::create(path).unwrap();
        for (i, rate) in [1000.0, 2000.0, 4000.0].into_iter().enumerate() {
            let mut routes = Vec::new();
            for (name, base) in [("/short", 20u64), ("/long", 1000)] {
                let mut s = RouteStats::new();
                s.scheduled = 100;
                s.window_responses = if i == 2 { 50 } else { 100 };
                for k in 1..=100u64 {
                    let lat = (base + k * scale * (i as u64 + 1)) * 1000;
                    s.record_response(lat, lat, None, Some(base * 10 * 1000), 0, 0);
                }
                routes.push((name.to_string(), Some(base * 10 * 1000), s));
            }
            w.write_report(&RunReport::new(rate, Duration::from_secs(1), routes))
                .unwrap();
        }
    }

    #[test]
    fn plots_svg_and_png_from_csv_files() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("edf.csv");
        let b = dir.path().join("rr.csv");
        synthetic_csv(&a, 1);
        synthetic_csv(&b, 5);
        let svg = dir.path().join("out/plot.svg");
        plot_files(&[a.clone(), b.clone()], &svg, None).unwrap();
        let text = std::fs::read_to_string(&svg).unwrap();
        assert!(text.starts_with("<svg"), "an SVG document");
        for needle in ["edf", "rr", "/short", "/long", "deadline met"] {
            assert!(text.contains(needle), "the SVG names {needle}");
        }
        let png = dir.path().join("plot.png");
        plot_files(&[a, b], &png, Some("t")).unwrap();
        let bytes = std::fs::read(&png).unwrap();
        assert_eq!(&bytes[1..4], b"PNG");
    }

    #[test]
    fn axis_labels_pick_a_unit() {
        for (us, label) in [(20.0, "20µs"), (2500.0, "2.5ms"), (3_000_000.0, "3s")] {
            assert_eq!(axis_us(us), label);
        }
    }

    #[test]
    fn bad_inputs_are_errors_that_say_what_is_wrong() {
        let dir = tempfile::tempdir().unwrap();
        let plot_error = |inputs: &[PathBuf], out: &str| {
            plot_files(inputs, &dir.path().join(out), None)
                .unwrap_err()
                .to_string()
        };
        let a = dir.path().join("a.csv");
        synthetic_csv(&a, 1);
        let empty = dir.path().join("empty.csv");
        CsvWriter::create(&empty).unwrap();
        for (inputs, out, says) in [
            (
                vec![a],
                "x.jpg",
                "x.jpg: the output must end in .svg or .png",
            ),
            (vec![], "x.svg", "give at least one CSV file"),
            (vec![dir.path().join("missing.csv")], "x.svg", "missing.csv"),
            (vec![empty], "x.svg", "the input files have no rows"),
        ] {
            let err = plot_error(&inputs, out);
            assert!(err.contains(says), "{says:?} not in {err:?}");
        }
    }
}
