//! The executor on real processes: order, exit codes, timeout, cancel, bounds, quoting.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::time::{Duration, Instant};

use opsbook::exec::script::{self, Selection};
use opsbook::exec::{self, ProcessEvent, ProcessSpec, Redactor};
use opsbook::record::{End, Outcome, Stream};

use crate::common::parse_text;

fn spec(dir: &Path, script: &str) -> ProcessSpec {
    ProcessSpec {
        shell: "bash".to_owned(),
        script: script.to_owned(),
        env: BTreeMap::new(),
        cwd: dir.to_path_buf(),
        timeout: Duration::from_secs(30),
        grace: Duration::from_secs(2),
        log_path: dir.join("run.log"),
        log_limit: exec::DEFAULT_LOG_LIMIT,
        redactor: Redactor::default(),
        capture_env: true,
        pty: None,
        gated: false,
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
}

/// Runs to the end; returns the outcome and every chunk a subscriber saw, in order.
fn run(spec: ProcessSpec) -> (Outcome, Vec<opsbook::record::Chunk>) {
    runtime().block_on(async {
        let run = exec::start(spec).unwrap();
        let mut subscription = run.subscribe(0);
        let mut chunks = Vec::new();
        let mut outcome = None;
        while let Some(event) = subscription.next().await {
            match event {
                ProcessEvent::Output(chunk) => chunks.push(chunk),
                ProcessEvent::Exit(end) => outcome = Some(end),
            }
        }
        (outcome.expect("an exit event"), chunks)
    })
}

fn stdout_of(chunks: &[opsbook::record::Chunk]) -> String {
    chunks.iter().filter(|c| c.stream == Stream::Stdout).map(|c| c.text.as_str()).collect()
}

#[test]
fn output_streams_in_order_with_timestamps_and_matches_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let (outcome, chunks) =
        run(spec(dir.path(), "for i in 1 2 3; do echo line $i; sleep 0.05; done; echo oops >&2; printf 'no newline'"));
    assert!(outcome.succeeded(), "{outcome:?}");
    assert_eq!(stdout_of(&chunks), "line 1\nline 2\nline 3\nno newline");
    let stderr: String = chunks.iter().filter(|c| c.stream == Stream::Stderr).map(|c| c.text.as_str()).collect();
    assert_eq!(stderr, "oops\n");
    // Numbered from 1 without gaps, timestamps never go back, and the log holds the same.
    assert!(chunks.iter().enumerate().all(|(i, c)| c.seq == i as u64 + 1));
    assert!(chunks.windows(2).all(|w| w[0].at <= w[1].at));
    assert!(chunks.len() >= 4, "the sleeps split the output into chunks: {chunks:?}");
    assert_eq!(opsbook::record::read_log(&dir.path().join("run.log"), 0), chunks);
    assert_eq!(outcome.output_bytes, "line 1\nline 2\nline 3\noops\nno newline".len() as u64);
}

#[test]
fn a_late_subscriber_gets_the_replay_then_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    runtime().block_on(async {
        let run = exec::start(spec(dir.path(), "echo first; sleep 0.3; echo second")).unwrap();
        tokio::time::sleep(Duration::from_millis(150)).await;
        let mut late = run.subscribe(0);
        let mut resumed = run.subscribe(1);
        let mut texts = Vec::new();
        while let Some(ProcessEvent::Output(chunk)) = late.next().await {
            texts.push(chunk.text);
        }
        assert_eq!(texts, ["first\n", "second\n"]);
        match resumed.next().await {
            Some(ProcessEvent::Output(chunk)) => assert_eq!((chunk.seq, chunk.text.as_str()), (2, "second\n")),
            other => panic!("expected the second chunk, got {other:?}"),
        }
        assert!(matches!(resumed.next().await, Some(ProcessEvent::Exit(_))));
        assert_eq!(resumed.next().await, None);
    });
}

#[test]
fn exit_codes_and_signals_are_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let (outcome, _) = run(spec(dir.path(), "exit 3"));
    assert_eq!((outcome.end, outcome.exit_code, outcome.signal), (End::Exited, Some(3), None));
    let (outcome, _) = run(spec(dir.path(), "kill -KILL $$"));
    assert_eq!((outcome.exit_code, outcome.signal), (None, Some(9)));
    let mut missing = spec(dir.path(), "true");
    missing.shell = "/nonexistent/shell".to_owned();
    let err = runtime().block_on(async { exec::start(missing).unwrap_err() });
    assert!(err.to_string().starts_with("cannot start `/nonexistent/shell`"), "{err}");
}

#[test]
fn a_timeout_stops_the_whole_group_including_a_backgrounded_grandchild() {
    let dir = tempfile::tempdir().unwrap();
    let mut timed = spec(dir.path(), "(sleep 1; touch grandchild-survived) & sleep 30");
    timed.timeout = Duration::from_millis(300);
    let began = Instant::now();
    let (outcome, chunks) = run(timed);
    assert_eq!(outcome.end, End::TimedOut);
    assert_eq!(outcome.signal, Some(15), "{outcome:?}");
    assert!(began.elapsed() < Duration::from_secs(5), "took {:?}", began.elapsed());
    let notes: String = chunks.iter().filter(|c| c.stream == Stream::Opsbook).map(|c| c.text.as_str()).collect();
    assert!(notes.contains("timed out after 300ms"), "{notes}");
    std::thread::sleep(Duration::from_millis(1500));
    assert!(!dir.path().join("grandchild-survived").exists(), "the backgrounded grandchild outlived the step");
}

#[test]
fn a_step_that_ends_takes_its_background_processes_with_it() {
    let dir = tempfile::tempdir().unwrap();
    let (outcome, _) = run(spec(dir.path(), "(sleep 1; touch orphan-survived) & echo done"));
    assert!(outcome.succeeded());
    std::thread::sleep(Duration::from_millis(1500));
    assert!(!dir.path().join("orphan-survived").exists());
}

#[test]
fn cancel_stops_a_run_and_a_term_ignoring_one_is_killed_after_the_grace() {
    let dir = tempfile::tempdir().unwrap();
    runtime().block_on(async {
        let run = exec::start(spec(dir.path(), "echo up; sleep 30")).unwrap();
        tokio::time::sleep(Duration::from_millis(200)).await;
        run.cancel();
        let outcome = run.wait().await;
        assert_eq!(outcome.end, End::Cancelled);
        assert!(outcome.duration_ms < 3000, "{outcome:?}");

        let mut stubborn = spec(dir.path(), "trap '' TERM; echo ready; while true; do sleep 0.05; done");
        stubborn.grace = Duration::from_millis(300);
        stubborn.log_path = dir.path().join("stubborn.log");
        let run = exec::start(stubborn).unwrap();
        tokio::time::sleep(Duration::from_millis(200)).await;
        run.cancel();
        let outcome = run.wait().await;
        assert_eq!((outcome.end, outcome.signal), (End::Cancelled, Some(9)));
    });
}

#[test]
fn ten_megabytes_of_output_stay_bounded_and_the_cut_is_marked() {
    let dir = tempfile::tempdir().unwrap();
    let mut big = spec(dir.path(), "head -c 10000000 /dev/zero | tr '\\0' 'x' | fold -w 100");
    big.log_limit = 1024 * 1024;
    let (outcome, chunks) = run(big);
    assert!(outcome.succeeded());
    assert!(outcome.truncated);
    // `fold` ends every line but the last with a newline.
    assert_eq!(outcome.output_bytes, 10_000_000 + 99_999, "every byte counted, kept or not");
    let kept: usize = chunks.iter().filter(|c| c.stream == Stream::Stdout).map(|c| c.text.len()).sum();
    assert_eq!(kept, 1024 * 1024);
    let last = chunks.last().unwrap();
    assert_eq!(last.stream, Stream::Opsbook);
    assert!(last.text.contains("output cut at 1 MiB"), "{}", last.text);
    let log_size = std::fs::metadata(dir.path().join("run.log")).unwrap().len();
    assert!(log_size < 1024 * 1024 + 64 * 1024, "log is {log_size} bytes");
}

#[test]
fn exported_variables_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    let mut given = spec(dir.path(), "export NEW_ONE=fresh CHANGED=after; UNEXPORTED=x; cd /");
    given.env.insert("CHANGED".to_owned(), "before".to_owned());
    given.env.insert("SAME".to_owned(), "kept".to_owned());
    let (outcome, _) = run(given);
    let exported: Vec<(&str, &str)> = outcome.exported.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    assert_eq!(exported, [("CHANGED", "after"), ("NEW_ONE", "fresh")]);
}

/// Values that would run something if spliced into the script as text.
const HOSTILE: &[&str] = &[
    "$(touch pwned-dollar)",
    "`touch pwned-backquote`",
    "x; touch pwned-semicolon",
    "'; touch pwned-single; '",
    "\"; touch pwned-double; \"",
    "$(touch pwned-a); touch pwned-b",
    "a\nEOF\ntouch pwned-heredoc\ncat <<EOF",
];

#[test]
fn input_values_run_nothing_in_any_quoting_position() {
    let runbook = parse_text(
        "# Quoting\n\n\
         ```bash\n\
         printf '%s|' <value>\n\
         printf '%s|' \"in double <value>\"\n\
         printf '%s|' 'in single <value>'\n\
         printf '%s|' {{ value }}\n\
         cat <<EOF\nheredoc <value>\nEOF\n\
         ```\n",
    );
    let step = &runbook.steps[0];
    let quotings: Vec<_> = step.placeholders.iter().flat_map(|p| p.occurrences.iter().map(|o| o.quoting)).collect();
    assert_eq!(quotings.len(), 5, "{quotings:?}");
    for value in HOSTILE {
        let dir = tempfile::tempdir().unwrap();
        let inputs = HashMap::from([("value".to_owned(), value.to_string())]);
        let built = script::build(step, Selection::All, &inputs, &|_| false).unwrap();
        let mut spec = spec(dir.path(), &built.text);
        spec.env = built.env.clone();
        let (outcome, chunks) = run(spec);
        assert!(outcome.succeeded(), "{value:?}: {outcome:?} {chunks:?}");
        let made: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|name| name.starts_with("pwned"))
            .collect();
        assert!(made.is_empty(), "value {value:?} ran a command: {made:?}");
        let out = stdout_of(&chunks);
        assert_eq!(
            out,
            format!("{value}|in double {value}|in single {value}|{value}|heredoc {value}\n"),
            "the value reached every position as text"
        );
    }
}

#[test]
fn a_line_break_cannot_end_a_quoted_heredoc_early() {
    let runbook = parse_text("# T\n\n```bash\ncat <<'EOF'\nliteral <value>\nEOF\n```\n");
    let step = &runbook.steps[0];
    let inputs = HashMap::from([("value".to_owned(), "x\nEOF\ntouch pwned".to_owned())]);
    let err = script::build(step, Selection::All, &inputs, &|_| false).unwrap_err();
    assert!(err.to_string().contains("cannot hold a line break"), "{err}");
    let inputs = HashMap::from([("value".to_owned(), "$(touch pwned)".to_owned())]);
    let built = script::build(step, Selection::All, &inputs, &|_| false).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (outcome, chunks) = run(spec(dir.path(), &built.text));
    assert!(outcome.succeeded());
    assert_eq!(stdout_of(&chunks), "literal $(touch pwned)\n");
    assert!(!dir.path().join("pwned").exists());
}

#[test]
fn secrets_are_masked_in_the_stream_and_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let mut masked =
        spec(dir.path(), "echo \"token=$API_TOKEN\"; echo \"raw $API_TOKEN\"; printf 'half'; sleep 0.2; echo ' line'");
    masked.env.insert("API_TOKEN".to_owned(), "tok-4242-secret".to_owned());
    masked.redactor = Redactor::new([("API_TOKEN", "tok-4242-secret")]);
    let (_, chunks) = run(masked);
    let out = stdout_of(&chunks);
    assert_eq!(out, "token=[redacted]\nraw [redacted]\nhalf line\n");
    let log = std::fs::read_to_string(dir.path().join("run.log")).unwrap();
    assert!(!log.contains("tok-4242-secret"));
}

/// The log as stored, for looking for what must not be there.
fn log_text(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("run.log")).unwrap()
}

#[test]
fn a_secret_split_by_a_slow_writer_is_masked_whatever_the_pause() {
    let dir = tempfile::tempdir().unwrap();
    let script = "printf 'token=ghp_abc'; sleep 0.2; printf 'defghijklmnop\\n'; \
                  printf 'use ghp_Hun'; sleep 0.2; printf 'ter2Sesame77abc now\\n'; \
                  printf 'psql postgres://admin:Hunter2'; sleep 0.2; printf 'Sesame77@db/app\\n'; \
                  printf 'mysql -uroot -pHun'; sleep 0.2; printf 'ter2Sesame77 app\\n'; \
                  printf 'password='; sleep 0.2; printf 'Hunter2Sesame77 ok\\n'; \
                  printf 'with tok-4242-s3'; sleep 0.2; printf 'cret value\\n'";
    let mut slow = spec(dir.path(), script);
    slow.redactor = Redactor::new([("API_TOKEN", "tok-4242-s3cret value")]);
    let (outcome, chunks) = run(slow);
    assert!(outcome.succeeded());
    assert_eq!(
        stdout_of(&chunks),
        "token=[redacted]\nuse [redacted] now\npsql postgres://admin:[redacted]@db/app\n\
         mysql -uroot -p[redacted] app\npassword=[redacted] ok\nwith [redacted]\n"
    );
    let log = log_text(dir.path());
    for piece in ["ghp_", "abcdef", "Hun", "ter2", "Sesame77", "tok-", "s3cr"] {
        assert!(!log.contains(piece), "{piece:?} reached the log: {log}");
    }
}

#[test]
fn a_line_over_64_kib_keeps_a_secret_across_the_cut() {
    let dir = tempfile::tempdir().unwrap();
    let script = "head -c 65530 /dev/zero | tr '\\0' x; printf ' password=Hunter2Sesame77 '; \
                  head -c 40000 /dev/zero | tr '\\0' y; echo; \
                  head -c 65536 /dev/zero | tr '\\0' z; printf 'password='; sleep 0.1; printf 'Hunter2Sesame77\\n'";
    let (outcome, chunks) = run(spec(dir.path(), script));
    assert!(outcome.succeeded());
    let want = format!(
        "{} password=[redacted] {}\n{}password=[redacted]\n",
        "x".repeat(65_530),
        "y".repeat(40_000),
        "z".repeat(65_536)
    );
    let out = stdout_of(&chunks);
    let around: Vec<&str> = out.match_indices("password=").map(|(at, _)| &out[at..out.len().min(at + 30)]).collect();
    assert!(out == want, "{} bytes, want {}; around the secrets: {around:?}", out.len(), want.len());
    let log = log_text(dir.path());
    for piece in ["Hunt", "ter2", "Sesame77"] {
        assert!(!log.contains(piece), "{piece:?} reached the log");
    }
}

#[test]
fn context_probes_are_bounded_and_leave_no_process_behind() {
    let dir = tempfile::tempdir().unwrap();
    let marker = |name: &str| dir.path().join(name);
    let probes: BTreeMap<String, String> = [
        ("flood", "head -c 100000000 /dev/zero | tr '\\0' x".to_owned()),
        ("hang", format!("(sleep 3 && touch {}) & sleep 301", marker("hang").display())),
        ("bg", format!("(sleep 3 && touch {}) & echo answered", marker("bg").display())),
        ("first", "echo kube-prod; echo second line".to_owned()),
        ("fails", "exit 3".to_owned()),
    ]
    .into_iter()
    .map(|(name, command)| (name.to_owned(), command))
    .collect();
    let started = Instant::now();
    let context = runtime().block_on(exec::context::collect(dir.path(), &probes, (None, false)));
    assert!(started.elapsed() < Duration::from_secs(5), "{:?}", started.elapsed());
    let flood = &context.probes["flood"];
    assert!(flood.starts_with("xxxx") && flood.ends_with('…'), "{}", &flood[..flood.len().min(300)]);
    assert!(flood.chars().count() <= 201, "cut to 200 characters and a mark: {}", flood.len());
    assert_eq!(context.probes["hang"], "(no answer within 2s)");
    assert_eq!(context.probes["bg"], "answered");
    assert_eq!(context.probes["first"], "kube-prod");
    assert_eq!(context.probes["fails"], "(exit 3)");
    // A background process of a probe would write its marker 3 s after it started.
    std::thread::sleep(Duration::from_millis(3500).saturating_sub(started.elapsed()) + Duration::from_millis(500));
    assert!(!marker("hang").exists(), "the timed-out probe's group is killed");
    assert!(!marker("bg").exists(), "an answered probe's group is killed");
}
