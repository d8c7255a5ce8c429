//! Markdown-lite for comments and messages: `**bold**`, `*italic*`, `` `code` ``, links
//! `[text](https://…)` and bare `http(s)://` addresses, and `#todo_…` references as links to
//! the todo. Safe by construction: the text is HTML-escaped first and only these few tags are
//! added, links only to http(s) addresses (never `javascript:`), with `rel="noopener noreferrer"`.

/// `text` as HTML; `base` is the base path for todo links.
pub fn render(text: &str, base: &str) -> String {
    let mut out = String::with_capacity(text.len() + 16);
    for (i, line) in text.lines().enumerate() {
        if i > 0 {
            out.push_str("<br>");
        }
        // Code spans first: nothing inside them is formatted. (Split once: the text can be long.)
        let parts: Vec<&str> = line.split('`').collect();
        for (j, part) in parts.iter().enumerate() {
            let closed = j % 2 == 1 && parts.len() > j + 1;
            if closed {
                out.push_str("<code>");
                out.push_str(&escape(part));
                out.push_str("</code>");
            } else {
                if j % 2 == 1 {
                    out.push('`');
                }
                out.push_str(&inline(part, base));
            }
        }
    }
    out
}

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Links, references and emphasis in a stretch of text outside code spans. Plain text between
/// links is collected into runs, and emphasis applies to a whole run.
fn inline(text: &str, base: &str) -> String {
    let mut out = String::new();
    let mut run = String::new();
    let mut rest = text;
    while !rest.is_empty() {
        if let Some((html, used)) = link(rest).or_else(|| bare_url(rest)).or_else(|| reference(rest, base)) {
            out.push_str(&emphasis(&escape(&run)));
            run.clear();
            out.push_str(&html);
            rest = &rest[used..];
            continue;
        }
        let ch = rest.chars().next().map_or(1, char::len_utf8);
        let next = rest[ch..].find(['[', 'h', '#']).map_or(rest.len(), |i| i + ch);
        run.push_str(&rest[..next]);
        rest = &rest[next..];
    }
    out.push_str(&emphasis(&escape(&run)));
    out
}

/// The first `max` bytes of `text` (fewer, to end on a character boundary).
fn head(text: &str, max: usize) -> &str {
    let mut end = max.min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

fn anchor(href: &str, label: &str) -> String {
    format!(r#"<a href="{}" rel="noopener noreferrer">{}</a>"#, escape(href), emphasis(&escape(label)))
}

fn is_web_url(url: &str) -> bool {
    (url.starts_with("https://") || url.starts_with("http://")) && !url.chars().any(|c| c.is_whitespace() || c == '"' || c == '<')
}

/// How far a link's label and address may reach: the search for their ends stops there, so
/// text with many `[` costs time in proportion to its length, not its square.
const MAX_LABEL: usize = 300;
const MAX_URL: usize = 2000;

/// `[label](url)` at the start of `text`.
fn link(text: &str) -> Option<(String, usize)> {
    let rest = text.strip_prefix('[')?;
    let close = head(rest, MAX_LABEL).find("](")?;
    let (label, after) = (&rest[..close], &rest[close + 2..]);
    let end = head(after, MAX_URL).find(')')?;
    let url = &after[..end];
    is_web_url(url).then(|| (anchor(url, label), 1 + close + 2 + end + 1))
}

/// A bare `http(s)://…` address at the start of `text` (trailing punctuation stays text).
fn bare_url(text: &str) -> Option<(String, usize)> {
    if !(text.starts_with("https://") || text.starts_with("http://")) {
        return None;
    }
    let end = text.find(|c: char| c.is_whitespace() || c == '<' || c == '"' || c == ')').unwrap_or(text.len()).min(MAX_URL);
    let end = head(text, end).len();
    let url = text[..end].trim_end_matches(['.', ',', ';', ':', '!', '?']);
    is_web_url(url).then(|| (anchor(url, url), url.len()))
}

/// `#todo_…` at the start of `text`: a link to that todo.
fn reference(text: &str, base: &str) -> Option<(String, usize)> {
    let rest = text.strip_prefix("#todo_")?;
    let len = rest.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-')).unwrap_or(rest.len()).min(MAX_LABEL);
    if len == 0 {
        return None;
    }
    let id = &text[1..1 + 5 + len];
    Some((format!(r#"<a class="ref" href="{base}/todos/{id}">#{id}</a>"#, base = escape(base), id = escape(id)), 1 + 5 + len))
}

/// `**bold**` and `*italic*` in already-escaped text (pairs only; a lone `*` stays).
fn emphasis(escaped: &str) -> String {
    let bold = pairs(escaped, "**", "strong");
    pairs(&bold, "*", "em")
}

fn pairs(text: &str, marker: &str, tag: &str) -> String {
    let parts: Vec<&str> = text.split(marker).collect();
    if parts.len() < 3 {
        return text.to_string();
    }
    let mut out = String::new();
    let closed = if parts.len() % 2 == 1 { parts.len() } else { parts.len() - 1 };
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            if i < closed {
                out.push_str(if i % 2 == 1 { "<" } else { "</" });
                out.push_str(tag);
                out.push('>');
            } else {
                out.push_str(marker);
            }
        }
        out.push_str(part);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::render;

    #[test]
    fn formats_the_few_things_it_knows() {
        assert_eq!(render("**bold** and *it*", ""), "<strong>bold</strong> and <em>it</em>");
        assert_eq!(render("run `a <b> **c**`", ""), "run <code>a &lt;b&gt; **c**</code>");
        assert_eq!(
            render("see [docs](https://x.dev/a?b=1&c=2).", ""),
            r#"see <a href="https://x.dev/a?b=1&amp;c=2" rel="noopener noreferrer">docs</a>."#
        );
        assert_eq!(
            render("at https://x.dev/p, ok", ""),
            r#"at <a href="https://x.dev/p" rel="noopener noreferrer">https://x.dev/p</a>, ok"#
        );
        assert_eq!(render("fixes #todo_a1-b", "/ocd"), r#"fixes <a class="ref" href="/ocd/todos/todo_a1-b">#todo_a1-b</a>"#);
        assert_eq!(render("line1\nline2", ""), "line1<br>line2");
        assert_eq!(render("2 * 3 = 6", ""), "2 * 3 = 6");
        assert_eq!(render("see `x`. **Ship it** here", ""), "see <code>x</code>. <strong>Ship it</strong> here");
    }

    #[test]
    fn long_hostile_text_costs_linear_time() {
        // With a quadratic scan each of these would take minutes (the suite would hang here);
        // they render at once.
        for text in ["`".repeat(100_000), "[".repeat(100_000), "[a](".repeat(25_000), "*".repeat(100_000), "#todo_".repeat(16_000)] {
            assert!(!render(&text, "").is_empty());
        }
    }

    #[test]
    fn nothing_unsafe_gets_through() {
        assert_eq!(render("<script>alert(1)</script>", ""), "&lt;script&gt;alert(1)&lt;/script&gt;");
        assert_eq!(render("[x](javascript:alert(1))", ""), "[x](javascript:alert(1))");
        assert_eq!(
            render(r#"[x](https://a.b/"onmouseover=1)"#, ""),
            r#"[x](<a href="https://a.b/" rel="noopener noreferrer">https://a.b/</a>&quot;onmouseover=1)"#
        );
        assert_eq!(render("#todo_<b>", ""), "#todo_&lt;b&gt;");
        assert_eq!(render("unclosed `code", ""), "unclosed `code");
    }
}
