//! A plain-text table printer shared by the examples.

/// Print `rows` under `headers` as an aligned table.
pub fn print(title: &str, headers: &[&str], rows: &[Vec<String>]) {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.len()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: &mut dyn Iterator<Item = String>| {
        let parts: Vec<String> = cells
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        println!("  | {} |", parts.join(" | "));
    };
    let rule: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
    println!("\n{title}");
    line(&mut headers.iter().map(|h| (*h).to_owned()));
    println!("  |-{}-|", rule.join("-|-"));
    for row in rows {
        line(&mut row.iter().cloned());
    }
}
