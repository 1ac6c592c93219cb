//! Plans (`plans/<slug>.md`, contract §6): Markdown that Claude Code writes in plan mode, named
//! by the slug of the session that wrote it. Flow serves the text as stored and never renders
//! it; the title is the first `# ` heading outside a fenced code block.

use crate::ids::Slug;

/// `<slug>.md` → the slug, if it is one an API path can name.
pub fn plan_slug(file_name: &str) -> Option<&str> {
    if crate::layout::is_ignored_name(file_name) {
        return None;
    }
    let slug = file_name.strip_suffix(".md")?;
    Slug::parse(slug).is_ok().then_some(slug)
}

/// The first level-one ATX heading (`# Title`, up to three spaces of indent), trimmed, with a
/// closing run of `#` removed; fenced code blocks are skipped.
pub fn title(markdown: &str) -> Option<String> {
    let mut fence: Option<&str> = None;
    for line in markdown.lines() {
        let indent = line.len() - line.trim_start_matches(' ').len();
        let body = line.trim_start_matches(' ');
        if indent > 3 {
            continue;
        }
        if let Some(open) = fence {
            if body.starts_with(open) {
                fence = None;
            }
            continue;
        }
        if body.starts_with("```") {
            fence = Some("```");
            continue;
        }
        if body.starts_with("~~~") {
            fence = Some("~~~");
            continue;
        }
        let Some(rest) = body.strip_prefix('#') else {
            continue;
        };
        if !(rest.is_empty() || rest.starts_with([' ', '\t'])) {
            continue;
        }
        let text = rest.trim();
        let text = match text.trim_end_matches('#') {
            t if t.is_empty() || t.ends_with([' ', '\t']) => t.trim_end(),
            _ => text,
        };
        if !text.is_empty() {
            return Some(text.to_owned());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_safe_names() {
        assert_eq!(plan_slug("calm-fox.md"), Some("calm-fox"));
        assert_eq!(plan_slug(".calm-fox.md"), None);
        assert_eq!(plan_slug("calm fox.md"), None);
        assert_eq!(plan_slug("calm-fox.txt"), None);
        assert_eq!(plan_slug(".md"), None);
    }

    #[test]
    fn title_is_the_first_h1_outside_code() {
        assert_eq!(
            title("intro\n```\n# not this\n```\n## Sub\n#   Real title ##\n# Later").as_deref(),
            Some("Real title")
        );
        assert_eq!(title("#hashtag\n#\n    # indented code").as_deref(), None);
        assert_eq!(title("# C# tips").as_deref(), Some("C# tips"));
        assert_eq!(
            title("# <script>x</script>").as_deref(),
            Some("<script>x</script>")
        );
    }
}
