//! The `opsbook` binary: parse arguments, run the command, map the outcome to an exit code.
//! The only place that exits.

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;

/// mimalloc: the parser allocates many small strings; it is about 30% faster than the system
/// allocator on the parse benchmark (BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = match opsbook::cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            let _ = err.print();
            return if err.use_stderr() { ExitCode::from(opsbook::cli::EXIT_INPUT) } else { ExitCode::SUCCESS };
        }
    };
    let outcome = opsbook::cli::run(cli);
    // Notifications the command queued get a moment to leave; what does not is kept on disk
    // for the next opsbook process.
    opsbook::notify::flush_all(std::time::Duration::from_secs(2));
    match outcome {
        Ok(code) => code,
        Err(err) if opsbook::cli::is_broken_pipe(&err) => ExitCode::SUCCESS,
        Err(err) => {
            let mut stderr = anstream::stderr();
            let _ = writeln!(stderr, "error: {err:#}");
            ExitCode::from(opsbook::cli::exit_code_for(&err))
        }
    }
}
