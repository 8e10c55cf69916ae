//! Flux's terminal output: the `✚` / `►` / `✔` / `◎` / `✗` progress lines (on stderr, like Flux's logger),
//! its tab-separated tables, and the truncation of long hex digests in revisions and messages.

/// `✚ message`: an object is being generated.
pub fn generate(message: &str) {
    eprintln!("✚ {message}");
}

/// `► message`: an action is about to happen.
pub fn action(message: &str) {
    eprintln!("► {message}");
}

/// `✔ message`: an action succeeded.
pub fn success(message: &str) {
    eprintln!("✔ {message}");
}

/// `◎ message`: waiting for the cluster.
pub fn waiting(message: &str) {
    eprintln!("◎ {message}");
}

/// `✗ message`: a step failed and the command goes on.
pub fn failure(message: &str) {
    eprintln!("✗ {message}");
}

/// A table as `flux get` prints it: every cell padded to its column's width and followed by a
/// tab; the header's last cell is followed by a space instead. `header` of `None` prints rows
/// only (`--no-header`).
pub fn render_table(header: Option<&[&str]>, rows: &[Vec<String>]) -> String {
    let rows = &split_multiline_cells(rows);
    let widths = column_widths(header, rows);
    let mut out = String::new();
    if let Some(header) = header {
        for (i, cell) in header.iter().enumerate() {
            let separator = if i + 1 == header.len() { ' ' } else { '\t' };
            push_padded(&mut out, cell, widths[i]);
            out.push(separator);
        }
        out.push('\n');
    }
    for row in rows {
        for (cell, width) in row.iter().zip(&widths) {
            push_padded(&mut out, cell, *width);
            out.push('\t');
        }
        out.push('\n');
    }
    out
}

/// A row whose cells hold several lines becomes one row per line, the other cells empty on the
/// continuation rows, as Flux's table writer prints a multi-line event message.
fn split_multiline_cells(rows: &[Vec<String>]) -> Vec<Vec<String>> {
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let lines: Vec<Vec<&str>> = row.iter().map(|cell| cell.split('\n').collect()).collect();
        let height = lines.iter().map(Vec::len).max().unwrap_or(1);
        for i in 0..height {
            let line = lines
                .iter()
                .map(|cell| cell.get(i).copied().unwrap_or_default());
            out.push(line.map(str::to_owned).collect());
        }
    }
    out
}

fn column_widths(header: Option<&[&str]>, rows: &[Vec<String>]) -> Vec<usize> {
    let columns = header
        .map(<[&str]>::len)
        .into_iter()
        .chain(rows.iter().map(Vec::len))
        .max()
        .unwrap_or(0);
    (0..columns)
        .map(|i| {
            let header_width = header.and_then(|h| h.get(i)).map_or(0, |h| width(h));
            rows.iter()
                .filter_map(|row| row.get(i))
                .map(|cell| width(cell))
                .fold(header_width, usize::max)
        })
        .collect()
}

fn width(text: &str) -> usize {
    text.chars().count()
}

fn push_padded(out: &mut String, cell: &str, column: usize) {
    out.push_str(cell);
    out.extend(std::iter::repeat_n(' ', column.saturating_sub(width(cell))));
}

/// Shortens every hex string of 40 to 128 characters that stands alone as a word (a SHA-1 up
/// to a SHA-512 digest) to its first 8 characters, as Flux does in tables.
pub fn truncate_hex(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut word = String::new();
    for c in text.chars() {
        if c.is_ascii_alphanumeric() || c == '_' {
            word.push(c);
        } else {
            push_word(&mut out, &word);
            word.clear();
            out.push(c);
        }
    }
    push_word(&mut out, &word);
    out
}

fn push_word(out: &mut String, word: &str) {
    let is_digest = (40..=128).contains(&word.len())
        && word
            .chars()
            .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c));
    out.push_str(if is_digest { &word[..8] } else { word });
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHA: &str = "696f056df216eea4f9401adbee0ff744d4df390f";

    fn row(cells: &[&str]) -> Vec<String> {
        cells.iter().map(|c| (*c).to_owned()).collect()
    }

    #[test]
    fn table_matches_flux_layout() {
        let header = ["NAME", "REVISION", "SUSPENDED", "READY", "MESSAGE"];
        let rows = [
            row(&[
                "podinfo",
                "main@sha1:696f056d",
                "False",
                "True",
                "Fetched revision: main@sha1:696f056d",
            ]),
            row(&[
                "podinfo-shard1",
                "main@sha1:696f056d",
                "False",
                "True",
                "Fetched revision: main@sha1:696f056d",
            ]),
        ];
        // Byte for byte what flux prints (cmd/flux/testdata/get/get.golden, first rows).
        let expected = concat!(
            "NAME          \tREVISION          \tSUSPENDED\tREADY\tMESSAGE                              \n",
            "podinfo       \tmain@sha1:696f056d\tFalse    \tTrue \tFetched revision: main@sha1:696f056d\t\n",
            "podinfo-shard1\tmain@sha1:696f056d\tFalse    \tTrue \tFetched revision: main@sha1:696f056d\t\n",
        );
        assert_eq!(render_table(Some(&header), &rows), expected);
    }

    #[test]
    fn table_without_header_sizes_columns_by_rows() {
        let rows = [row(&["a", "bb"]), row(&["ccc", "d"])];
        assert_eq!(render_table(None, &rows), "a  \tbb\t\nccc\td \t\n");
        let multiline = [row(&["1s", "created\napplied"])];
        assert_eq!(
            render_table(None, &multiline),
            "1s\tcreated\t\n  \tapplied\t\n"
        );
    }

    #[test]
    fn table_without_rows_prints_the_header() {
        assert_eq!(
            render_table(Some(&["NAME", "READY"]), &[]),
            "NAME\tREADY \n"
        );
    }

    #[test]
    fn hex_digests_are_shortened_only_as_whole_words() {
        assert_eq!(
            truncate_hex(&format!("Applied revision: main@sha1:{SHA}")),
            "Applied revision: main@sha1:696f056d"
        );
        assert_eq!(truncate_hex(&format!("x{SHA}")), format!("x{SHA}"));
        assert_eq!(truncate_hex(&SHA[..39]), &SHA[..39]);
        assert_eq!(truncate_hex(&SHA.to_uppercase()), SHA.to_uppercase());
        assert_eq!(truncate_hex(""), "");
        assert_eq!(truncate_hex("ünïcode ok"), "ünïcode ok");
    }
}
