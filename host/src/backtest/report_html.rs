//! `report.html`: the backtest report as one self-contained page that opens from `file://`
//! with no network: the web console's report viewer (`web/`, built by `cargo xtask web`
//! into one HTML file with its scripts inlined) with the run's `report.json` in it. The
//! console's backtest result page draws the same report with the same components.

/// The viewer (see `host/build.rs`: the built `web/dist-report/report.html`, or a page
/// saying how to build it).
const TEMPLATE: &str = include_str!(env!("STRATBOX_REPORT_HTML"));

/// What the viewer's data element holds until a report is put in.
const PLACEHOLDER: &str = "/*STRATBOX_REPORT_JSON*/null";

/// The page for `report_json` (the serialized report), titled `title`. `<` is written as
/// `\u003c` (the same string to a JSON parser), so no text in the report can end the data
/// element.
///
/// # Errors
/// The viewer has no data element (a broken build of `web/`).
pub fn render(report_json: &str, title: &str) -> Result<String, String> {
    if !TEMPLATE.contains(PLACEHOLDER) {
        return Err(format!(
            "the report viewer built into this binary has no `{PLACEHOLDER}` data element; rebuild the console (`cargo xtask web`)"
        ));
    }
    let data = report_json.replace('<', "\\u003c");
    let page = TEMPLATE.replacen(PLACEHOLDER, &data, 1);
    Ok(match (page.find("<title>"), page.find("</title>")) {
        (Some(a), Some(b)) if a < b => format!(
            "{}<title>{}</title>{}",
            &page[..a],
            escape(title),
            &page[b + "</title>".len()..]
        ),
        _ => page,
    })
}

/// `report.json` (pretty, newline-terminated) of `report`.
///
/// # Errors
/// The report cannot be encoded.
pub fn json(report: &super::BacktestReport) -> Result<String, String> {
    serde_json::to_string_pretty(report)
        .map(|j| j + "\n")
        .map_err(|e| format!("cannot encode the report: {e}"))
}

/// Writes `report.json` (`json`, from [`json`]) and `report.html` titled `title` into
/// `dir`, each atomically.
///
/// # Errors
/// The viewer is broken, or a file cannot be written.
pub fn write(dir: &cap_std::fs::Dir, json: &str, title: &str) -> Result<(), String> {
    let html = render(json, title)?;
    crate::storage::write_atomic(dir, "report.json", json.as_bytes())
        .and_then(|()| crate::storage::write_atomic(dir, "report.html", html.as_bytes()))
        .map_err(|e| e.to_string())
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_report_is_put_in_whole_and_cannot_close_the_element() {
        let json = r#"{"note":"</script><script>alert(1)</script>","n":1}"#;
        let page = render(json, "a <b> & c").unwrap();
        assert!(
            page.contains("<title>a &lt;b&gt; &amp; c</title>"),
            "{page}"
        );
        assert!(!page.contains(PLACEHOLDER));
        assert!(!page.contains("</script><script>alert"));
        let start = page.find(r#"{"note""#).unwrap();
        let end = start + page[start..].find("</script>").unwrap();
        let back: serde_json::Value = serde_json::from_str(&page[start..end]).unwrap();
        assert_eq!(back["note"], "</script><script>alert(1)</script>");
        assert_eq!(back["n"], 1);
    }

    #[test]
    fn the_page_needs_no_network() {
        let page = render("{}", "t").unwrap();
        for (i, _) in page.match_indices("src=\"") {
            let url = &page[i + 5..];
            assert!(
                !(url.starts_with("http:") || url.starts_with("https:") || url.starts_with("//")),
                "the report loads something from the network: {}",
                &url[..url.len().min(80)]
            );
        }
        assert!(!page.contains("<link rel=\"stylesheet\" href=\"http"));
    }
}
