//! An interactive step run by `opsbook run` on a terminal: the step gets a pty of its own, and
//! this terminal is joined to it (raw mode, keys in, screen out, resizes passed on) until the
//! step ends, so the run is recorded (log and asciicast) like the console's.

use std::io::Write;
use std::os::fd::AsFd;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crate::exec::{Process, TerminalSize};

/// The size of this process's terminal (its standard output), if it has one.
pub(super) fn size() -> Option<TerminalSize> {
    let size = rustix::termios::tcgetwinsize(std::io::stdout().as_fd()).ok()?;
    TerminalSize { cols: size.ws_col, rows: size.ws_row }.checked()
}

/// This terminal in raw mode (keys reach the step as typed, ctrl-c included); restored when
/// dropped.
struct RawMode {
    saved: rustix::termios::Termios,
}

impl RawMode {
    fn enter() -> std::io::Result<RawMode> {
        let stdin = std::io::stdin();
        let saved = rustix::termios::tcgetattr(stdin.as_fd())?;
        let mut raw = saved.clone();
        raw.make_raw();
        rustix::termios::tcsetattr(stdin.as_fd(), rustix::termios::OptionalActions::Now, &raw)?;
        Ok(RawMode { saved })
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        let stdin = std::io::stdin();
        let _ = rustix::termios::tcsetattr(stdin.as_fd(), rustix::termios::OptionalActions::Now, &self.saved);
    }
}

/// Joins this terminal to the run's pty until the run ends.
pub(super) async fn join(run: &Process) -> anyhow::Result<()> {
    let Some(mut screen) = run.attach_screen() else { return Ok(()) };
    let _raw = RawMode::enter()?;
    let mut stdout = std::io::stdout();
    stdout.write_all(&screen.backlog)?;
    stdout.flush()?;

    // Keys: a thread that polls standard input, so that it stops reading when the step ends
    // (a read left waiting would take the next prompt's answer).
    let stop = Arc::new(AtomicBool::new(false));
    let (keys_tx, mut keys) = tokio::sync::mpsc::channel::<Vec<u8>>(64);
    let reader = {
        let stop = stop.clone();
        std::thread::spawn(move || read_keys(&stop, &keys_tx))
    };
    let mut resized = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::window_change())?;
    let mut ended = std::pin::pin!(run.wait());
    let mut live = !screen.ended;
    loop {
        tokio::select! {
            _ = &mut ended => break,
            shown = screen.live.recv(), if live => match shown {
                Ok(bytes) => {
                    stdout.write_all(&bytes)?;
                    stdout.flush()?;
                }
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                Err(tokio::sync::broadcast::error::RecvError::Closed) => live = false,
            },
            Some(typed) = keys.recv() => {
                // A step that has just ended may no longer take keys: its end is on its way.
                let _ = run.write_input(&typed).await;
            }
            Some(()) = resized.recv() => {
                if let Some(size) = size() {
                    let _ = run.resize(size);
                }
            }
        }
    }
    // What the step printed last.
    while let Ok(bytes) = screen.live.try_recv() {
        stdout.write_all(&bytes)?;
    }
    stdout.flush()?;
    stop.store(true, Ordering::Relaxed);
    let _ = tokio::task::spawn_blocking(move || reader.join()).await;
    Ok(())
}

fn read_keys(stop: &AtomicBool, keys: &tokio::sync::mpsc::Sender<Vec<u8>>) {
    use std::io::Read;
    let stdin = std::io::stdin();
    let timeout = rustix::event::Timespec { tv_sec: 0, tv_nsec: Duration::from_millis(50).as_nanos() as i64 };
    // Larger than standard input's own buffer, so that a read takes what is there directly and
    // nothing stays buffered where `poll` cannot see it.
    let mut buffer = vec![0u8; 16 * 1024];
    while !stop.load(Ordering::Relaxed) {
        let mut fds = [rustix::event::PollFd::new(&stdin, rustix::event::PollFlags::IN)];
        match rustix::event::poll(&mut fds, Some(&timeout)) {
            Ok(0) => continue,
            Ok(_) => {}
            Err(_) => return,
        }
        match stdin.lock().read(&mut buffer) {
            Ok(0) | Err(_) => return,
            Ok(n) => {
                if keys.blocking_send(buffer[..n].to_vec()).is_err() {
                    return;
                }
            }
        }
    }
}
