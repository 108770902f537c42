//! A small SVG line plot of latency (p50 and p99) against offered load: axes, ticks, labels,
//! two polylines. Written by hand so the generator needs no plotting library.

use std::fmt::Write as _;

/// One measured step.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PlotPoint {
    /// Load on the x axis (transactions/s).
    pub rate: f64,
    /// Median latency (µs).
    pub p50_us: f64,
    /// 99th-percentile latency (µs).
    pub p99_us: f64,
}

const WIDTH: f64 = 720.0;
const HEIGHT: f64 = 440.0;
const LEFT: f64 = 80.0;
const RIGHT: f64 = 30.0;
const TOP: f64 = 40.0;
const BOTTOM: f64 = 60.0;
const TICKS: u32 = 5;

/// The plot as an SVG document. Points are sorted by rate; non-finite values are left out.
pub fn latency_plot(title: &str, points: &[PlotPoint]) -> String {
    let mut pts: Vec<PlotPoint> = points
        .iter()
        .copied()
        .filter(|p| p.rate.is_finite() && p.p50_us.is_finite() && p.p99_us.is_finite())
        .collect();
    pts.sort_by(|a, b| a.rate.total_cmp(&b.rate));
    let x_max = nice_ceiling(pts.iter().map(|p| p.rate).fold(0.0, f64::max));
    let y_max = nice_ceiling(
        pts.iter()
            .map(|p| p.p99_us.max(p.p50_us))
            .fold(0.0, f64::max),
    );
    let plot_w = WIDTH - LEFT - RIGHT;
    let plot_h = HEIGHT - TOP - BOTTOM;
    let x = |v: f64| LEFT + v.clamp(0.0, x_max) / x_max * plot_w;
    let y = |v: f64| TOP + plot_h - v.clamp(0.0, y_max) / y_max * plot_h;

    let mut s = String::new();
    // Writing into a String cannot fail.
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(
        s,
        r#"<rect width="{WIDTH}" height="{HEIGHT}" fill="white"/>"#
    );
    let _ = writeln!(
        s,
        r#"<text x="{}" y="22" text-anchor="middle" font-size="15">{}</text>"#,
        WIDTH / 2.0,
        escape(title)
    );
    let (x0, y0) = (LEFT, TOP + plot_h);
    let _ = writeln!(
        s,
        r#"<g id="axes" stroke="black"><line x1="{x0}" y1="{y0}" x2="{}" y2="{y0}"/><line x1="{x0}" y1="{y0}" x2="{x0}" y2="{TOP}"/></g>"#,
        LEFT + plot_w
    );
    s.push_str("<g id=\"ticks\">\n");
    for i in 0..=TICKS {
        let f = f64::from(i) / f64::from(TICKS);
        let (xv, yv) = (x_max * f, y_max * f);
        let (tx, ty) = (x(xv), y(yv));
        let _ = writeln!(
            s,
            r#"<line x1="{tx:.1}" y1="{y0}" x2="{tx:.1}" y2="{}" stroke="black"/><text x="{tx:.1}" y="{}" text-anchor="middle">{}</text>"#,
            y0 + 5.0,
            y0 + 20.0,
            label(xv)
        );
        let _ = writeln!(
            s,
            r##"<line x1="{}" y1="{ty:.1}" x2="{x0}" y2="{ty:.1}" stroke="black"/><line x1="{x0}" y1="{ty:.1}" x2="{}" y2="{ty:.1}" stroke="#ddd"/><text x="{}" y="{:.1}" text-anchor="end">{}</text>"##,
            x0 - 5.0,
            LEFT + plot_w,
            x0 - 8.0,
            ty + 4.0,
            label(yv)
        );
    }
    s.push_str("</g>\n");
    let _ = writeln!(
        s,
        r#"<text x="{}" y="{}" text-anchor="middle">offered load (transactions/s)</text>"#,
        LEFT + plot_w / 2.0,
        HEIGHT - 15.0
    );
    let _ = writeln!(
        s,
        r#"<text x="18" y="{}" text-anchor="middle" transform="rotate(-90 18 {})">latency (µs)</text>"#,
        TOP + plot_h / 2.0,
        TOP + plot_h / 2.0
    );
    for (id, color, pick) in [
        (
            "p50",
            "#1f77b4",
            (|p: &PlotPoint| p.p50_us) as fn(&PlotPoint) -> f64,
        ),
        ("p99", "#d62728", |p: &PlotPoint| p.p99_us),
    ] {
        let coords: Vec<String> = pts
            .iter()
            .map(|p| format!("{:.1},{:.1}", x(p.rate), y(pick(p))))
            .collect();
        let _ = writeln!(
            s,
            r#"<polyline id="{id}" fill="none" stroke="{color}" stroke-width="2" points="{}"/>"#,
            coords.join(" ")
        );
    }
    let lx = LEFT + 12.0;
    let _ = writeln!(
        s,
        r##"<g id="legend"><line x1="{lx}" y1="{t}" x2="{}" y2="{t}" stroke="#1f77b4" stroke-width="2"/><text x="{}" y="{}">p50</text><line x1="{lx}" y1="{u}" x2="{}" y2="{u}" stroke="#d62728" stroke-width="2"/><text x="{}" y="{}">p99</text></g>"##,
        lx + 20.0,
        lx + 26.0,
        TOP + 14.0,
        lx + 20.0,
        lx + 26.0,
        TOP + 32.0,
        t = TOP + 10.0,
        u = TOP + 28.0,
    );
    s.push_str("</svg>\n");
    s
}

/// The smallest 1, 2 or 5 × 10^k at or above `v` (1 for v ≤ 0).
fn nice_ceiling(v: f64) -> f64 {
    if v <= 0.0 || !v.is_finite() {
        return 1.0;
    }
    let mag = 10f64.powf(v.log10().floor());
    for m in [1.0, 2.0, 5.0, 10.0] {
        if m * mag >= v {
            return m * mag;
        }
    }
    10.0 * mag
}

/// A tick label: integers without decimals, thousands as "k".
fn label(v: f64) -> String {
    if v >= 10_000.0 {
        format!("{}k", trim(v / 1000.0))
    } else {
        trim(v)
    }
}

fn trim(v: f64) -> String {
    if (v - v.round()).abs() < 1e-9 {
        format!("{}", v.round() as i64)
    } else {
        format!("{v:.1}")
    }
}

/// Escapes text for XML character data.
fn escape(t: &str) -> String {
    t.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn points() -> Vec<PlotPoint> {
        vec![
            PlotPoint {
                rate: 40_000.0,
                p50_us: 300.0,
                p99_us: 2_400.0,
            },
            PlotPoint {
                rate: 10_000.0,
                p50_us: 80.0,
                p99_us: 150.0,
            },
            PlotPoint {
                rate: 20_000.0,
                p50_us: 90.0,
                p99_us: 400.0,
            },
        ]
    }

    fn polyline(doc: &roxmltree::Document<'_>, id: &str) -> Vec<(f64, f64)> {
        let node = doc
            .descendants()
            .find(|n| n.attribute("id") == Some(id))
            .unwrap();
        node.attribute("points")
            .unwrap()
            .split(' ')
            .map(|xy| {
                let (a, b) = xy.split_once(',').unwrap();
                (a.parse().unwrap(), b.parse().unwrap())
            })
            .collect()
    }

    #[test]
    fn the_plot_is_well_formed_and_points_lie_in_the_plot_area() {
        let svg = latency_plot("tandemd <direct> & co", &points());
        let doc = roxmltree::Document::parse(&svg).expect("well-formed XML");
        assert_eq!(doc.root_element().tag_name().name(), "svg");
        for id in ["p50", "p99"] {
            let pts = polyline(&doc, id);
            assert_eq!(pts.len(), 3);
            for (x, y) in &pts {
                assert!((LEFT..=WIDTH - RIGHT).contains(x), "{id} x {x}");
                assert!((TOP..=HEIGHT - BOTTOM).contains(y), "{id} y {y}");
            }
            // Sorted by rate: x increases along the line.
            assert!(pts.windows(2).all(|w| w[0].0 < w[1].0), "{pts:?}");
        }
        // Latency grows with load, so y (downwards in SVG) shrinks; p99 lies above p50.
        let p50 = polyline(&doc, "p50");
        let p99 = polyline(&doc, "p99");
        assert!(p99.iter().zip(&p50).all(|(a, b)| a.1 <= b.1));
        // x axis tops out at 50k, y at 5000 µs: the 40k/2400 point sits at 80 % and 48 %.
        let (x, y) = p99[2];
        assert!(
            (x - (LEFT + 0.8 * (WIDTH - LEFT - RIGHT))).abs() < 0.2,
            "{x}"
        );
        assert!(
            (y - (TOP + (1.0 - 0.48) * (HEIGHT - TOP - BOTTOM))).abs() < 0.2,
            "{y}"
        );
        let text: String = doc.descendants().filter_map(|n| n.text()).collect();
        assert!(text.contains("tandemd <direct> & co"));
        assert!(text.contains("50k") && text.contains("5000"), "{text}");
    }

    #[test]
    fn empty_and_non_finite_input_still_gives_a_document() {
        let svg = latency_plot(
            "none",
            &[PlotPoint {
                rate: f64::NAN,
                p50_us: 1.0,
                p99_us: 1.0,
            }],
        );
        let doc = roxmltree::Document::parse(&svg).unwrap();
        let p = doc
            .descendants()
            .find(|n| n.attribute("id") == Some("p50"))
            .unwrap();
        assert_eq!(p.attribute("points"), Some(""));
    }

    #[test]
    fn nice_ceilings() {
        assert_eq!(nice_ceiling(0.0), 1.0);
        assert_eq!(nice_ceiling(3.0), 5.0);
        assert_eq!(nice_ceiling(40_000.0), 50_000.0);
        assert_eq!(nice_ceiling(100.0), 100.0);
        assert_eq!(nice_ceiling(101.0), 200.0);
        assert_eq!(label(50_000.0), "50k");
        assert_eq!(label(2.5), "2.5");
    }
}
