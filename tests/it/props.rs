//! Property tests: no input panics the parser.

use proptest::prelude::*;

use crate::common::parse_text;

/// Markdown-ish text: fences, prompts, quotes, heredocs, placeholders, in any order.
fn markdownish() -> impl Strategy<Value = String> {
    let pieces = prop::sample::select(vec![
        "```bash\n",
        "```\n",
        "~~~\n",
        "````console\n",
        "    ```\n",
        "$ ",
        "# ",
        "## H\n",
        "---\n",
        "+++\n",
        "<pod-name>",
        "{{ x }}",
        "${A-b}",
        "$VAR",
        "'",
        "\"",
        "`",
        "\\\n",
        "<<EOF\n",
        "EOF\n",
        "for i in 1; do\n",
        "done\n",
        "(",
        ")",
        "|",
        "&&",
        "kubectl delete pod x\n",
        "psql -c 'DROP TABLE t'\n",
        "redis-cli\n",
        "db=# select 1;\n",
        "- item\n",
        "  ",
        "\t",
        "\n",
        "{name=x confirm timeout=3s}",
        "{\"name\":",
        "日本語",
        "\r\n",
        "\u{feff}",
    ]);
    prop::collection::vec(pieces, 0..60).prop_map(|parts| parts.concat())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_markdown_never_panics(text in markdownish()) {
        let runbook = parse_text(&text);
        for step in &runbook.steps {
            prop_assert!(!step.commands.is_empty());
            prop_assert!(step.line >= 1 && step.end_line >= step.line);
        }
    }

    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,400}") {
        parse_text(&text);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        parse_text(&String::from_utf8_lossy(&bytes));
    }
}
