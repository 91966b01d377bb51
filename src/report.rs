//! Pictures of a finished run: `dashboard.png` and a self-contained `report.html`.
//!
//! Both are rendered from the run directory alone (`summary.json` and the
//! Parquet files), so the render after `asyncflow run` and a later
//! `asyncflow report DIR` share one code path and give the same bytes. Files the
//! run did not write (`--outputs`) leave their panels with a note instead of an
//! error. Reading is streamed and downsampled ([`data`]), so a run of any length
//! renders in bounded memory.
//!
//! ```no_run
//! let written = asyncflow::report::render_dir("out/quickstart".as_ref())?;
//! for path in written {
//!     println!("wrote {}", path.display());
//! }
//! # Ok::<(), asyncflow::report::ReportError>(())
//! ```

pub mod charts;
pub mod data;
pub mod html;
pub mod services;

use std::path::{Path, PathBuf};

use plotters::prelude::*;

pub use charts::{PNG_WIDTH, png_size};
pub use data::RunData;

use crate::metrics::outdir::{OutputError, write_atomic};

/// Name of the dashboard image in a run directory.
pub const DASHBOARD_FILE: &str = "dashboard.png";
/// Name of the HTML report in a run directory.
pub const REPORT_FILE: &str = "report.html";

/// A report that could not be rendered.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// A file of the run directory could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// `summary.json` is not a summary this version understands.
    #[error("cannot decode {path}: {source}")]
    Summary {
        /// The file.
        path: PathBuf,
        /// Why.
        source: serde_json::Error,
    },
    /// A Parquet file is damaged or lacks a column.
    #[error("cannot read {path}: {message}")]
    Parquet {
        /// The file.
        path: PathBuf,
        /// Why.
        message: String,
    },
    /// The embedded font could not be loaded (a broken build).
    #[error("the embedded report font could not be loaded")]
    Font,
    /// Drawing a chart failed.
    #[error("cannot draw the charts: {0}")]
    Draw(String),
    /// Encoding the PNG failed.
    #[error("cannot encode {DASHBOARD_FILE}: {0}")]
    Png(#[from] png::EncodingError),
    /// Writing an output failed.
    #[error(transparent)]
    Write(#[from] OutputError),
}

/// Read `dir` and write `dashboard.png` and `report.html` into it (each
/// atomically); returns their paths.
pub fn render_dir(dir: &Path) -> Result<Vec<PathBuf>, ReportError> {
    let data = RunData::load(dir)?;
    let png = dashboard_png(&data)?;
    let html = report_html(&data)?;
    let png_path = dir.join(DASHBOARD_FILE);
    let html_path = dir.join(REPORT_FILE);
    write_atomic(&png_path, &png)?;
    write_atomic(&html_path, html.as_bytes())?;
    Ok(vec![png_path, html_path])
}

/// The dashboard as PNG bytes, [`png_size`]`(data.server_rows())` pixels (RGB,
/// 8 bits per channel).
pub fn dashboard_png(data: &RunData) -> Result<Vec<u8>, ReportError> {
    if !charts::font_ready() {
        return Err(ReportError::Font);
    }
    let (w, h) = png_size(data.server_rows());
    let mut rgb = vec![255u8; (w * h * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut rgb, (w, h)).into_drawing_area();
        charts::dashboard(&root, data).map_err(ReportError::Draw)?;
        root.present()
            .map_err(|e| ReportError::Draw(e.to_string()))?;
    }
    encode_png(&rgb, w, h)
}

/// Encode an RGB buffer (8 bits per channel, `w` x `h`) as PNG bytes.
pub(crate) fn encode_png(rgb: &[u8], w: u32, h: u32) -> Result<Vec<u8>, ReportError> {
    let mut out = Vec::with_capacity(rgb.len() / 8);
    {
        let mut enc = png::Encoder::new(&mut out, w, h);
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        // Fast deflate: charts are flat colour, so it costs little in size and
        // keeps the render well under a second.
        enc.set_compression(png::Compression::Fast);
        let mut writer = enc.write_header()?;
        writer.write_image_data(rgb)?;
        writer.finish()?;
    }
    Ok(out)
}

/// The report page as one self-contained HTML document.
pub fn report_html(data: &RunData) -> Result<String, ReportError> {
    if !charts::font_ready() {
        return Err(ReportError::Font);
    }
    html::page(data).map_err(ReportError::Draw)
}

/// Thousands separators for counts: `1234567` → `1,234,567`.
pub fn count(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_get_thousands_separators() {
        assert_eq!(count(0), "0");
        assert_eq!(count(999), "999");
        assert_eq!(count(1000), "1,000");
        assert_eq!(count(1234567), "1,234,567");
    }

    #[test]
    fn the_embedded_font_loads() {
        assert!(charts::font_ready());
    }

    #[test]
    fn dashboard_height_grows_per_server_row() {
        let (w1, h1) = png_size(1);
        let (w2, h2) = png_size(2);
        assert_eq!(w1, PNG_WIDTH);
        assert_eq!(w2, PNG_WIDTH);
        assert_eq!(h2 - h1, charts::SERVER_ROW_H);
        assert_eq!(png_size(0), png_size(1));
    }
}
