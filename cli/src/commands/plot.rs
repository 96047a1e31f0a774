//! Bar charts of benchmark figures as SVG (`megaloop bench --plot FILE.svg`), drawn with
//! plotters from the same report structs the tables and `--json` print.

use anyhow::{ensure, Context};
use plotters::prelude::*;
use std::path::Path;

/// Draw one bar per `(label, value)` on a log-scale axis (figures of one chart span
/// orders of magnitude: the one-dispatch-per-slot baseline is thousands of times slower
/// than the megakernel), each bar named above itself with its value.
pub fn bars(path: &Path, title: &str, y_label: &str, bars: &[(String, f64)]) -> anyhow::Result<()> {
    ensure!(!bars.is_empty(), "nothing to plot");
    ensure!(
        bars.iter().all(|(_, v)| v.is_finite() && *v > 0.0),
        "cannot plot {bars:?} on a log scale: every figure must be positive"
    );
    let max = bars.iter().map(|(_, v)| *v).fold(f64::MIN, f64::max);
    let min = bars.iter().map(|(_, v)| *v).fold(f64::MAX, f64::min);
    let (low, high) = (10f64.powf(min.log10().floor() - 0.5), 10f64.powf(max.log10().ceil() + 0.2));
    let width = 240 + 160 * bars.len() as u32;
    let root = SVGBackend::new(path, (width, 520)).into_drawing_area();
    let draw = || -> Result<(), Box<dyn std::error::Error + '_>> {
        root.fill(&WHITE)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 18))
            .margin(16)
            .x_label_area_size(16)
            .y_label_area_size(90)
            .build_cartesian_2d(0f64..bars.len() as f64, (low..high).log_scale())?;
        // Each bar is named above itself, with its value: no x-axis labels to align.
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(0)
            .y_desc(y_label)
            .y_label_formatter(&|v| format!("{v:.1e}"))
            .draw()?;
        chart.draw_series(bars.iter().enumerate().map(|(k, (_, v))| {
            Rectangle::new([(k as f64 + 0.15, low), (k as f64 + 0.85, *v)], BLUE.mix(0.6).filled())
        }))?;
        chart.draw_series(bars.iter().enumerate().map(|(k, (label, v))| {
            Text::new(format!("{label}: {v:.3e}"), (k as f64 + 0.15, *v * 1.3), ("sans-serif", 13))
        }))?;
        root.present()?;
        Ok(())
    };
    draw().map_err(|e| anyhow::anyhow!("{e}")).with_context(|| format!("drawing {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chart_names_every_bar_and_refuses_what_a_log_scale_cannot_show() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bench.svg");
        let figures = [("once".to_string(), 4.0e9), ("dispatch_per_slot".to_string(), 4.0e5)];
        bars(&path, "megaloop bench", "slots/s", &figures).unwrap();
        let svg = std::fs::read_to_string(&path).unwrap();
        assert!(svg.starts_with("<svg") && svg.contains("megaloop bench"), "{}", &svg[..200.min(svg.len())]);
        for (label, value) in &figures {
            let text = format!("{label}: {value:.3e}");
            assert!(svg.contains(&text), "no bar text {text}");
        }
        assert!(bars(&path, "t", "y", &[]).is_err());
        assert!(bars(&path, "t", "y", &[("zero".into(), 0.0)]).unwrap_err().to_string().contains("positive"));
        let unwritable = bars(Path::new("/nonexistent/dir/x.svg"), "t", "y", &figures).unwrap_err();
        assert!(format!("{unwritable:#}").contains("/nonexistent/dir/x.svg"), "{unwritable:#}");
    }
}
