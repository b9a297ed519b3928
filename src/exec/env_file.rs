//! The private files a run's `EXIT` trap writes its environment to (`env -0`), so the variables
//! a step exported can be read back, and the files a step writes its outputs to
//! (`$OPSBOOK_OUTPUT`).
//!
//! They live in one per-user folder, `$TMPDIR/opsbook-<uid>/` (0700, ours, not a link), named
//! `env-<pid>-<id>` after the process that records the run. A file is removed when its run is
//! read back; a recorder killed with `kill -9` leaves its file behind, and
//! [`sweep_env_files`] (called when `opsbook run` and `opsbook serve` start) removes the files
//! of processes that are gone.

use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::sys::signal::kill;
use nix::unistd::Pid;

/// Why the private file could not be made.
#[derive(Debug, thiserror::Error)]
#[error("cannot create a private file for the step's exported variables in `{}`: {source}", folder.display())]
pub struct EnvFileError {
    pub folder: PathBuf,
    pub source: std::io::Error,
}

/// The per-user folder of these files.
pub fn folder() -> PathBuf {
    std::env::temp_dir().join(format!("opsbook-{}", nix::unistd::getuid()))
}

/// The folder, created 0700 if missing; refused when it is not a folder of ours (someone else
/// may have made it first in a shared `/tmp`), tightened when its mode is looser.
fn private_folder() -> std::io::Result<PathBuf> {
    let dir = folder();
    if let Err(err) = std::fs::DirBuilder::new().mode(0o700).create(&dir) {
        if err.kind() != std::io::ErrorKind::AlreadyExists {
            return Err(err);
        }
    }
    let meta = std::fs::symlink_metadata(&dir)?;
    if !meta.is_dir() || meta.uid() != nix::unistd::getuid().as_raw() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::PermissionDenied,
            "it is not a folder of this user; remove it, or set TMPDIR to a folder of your own",
        ));
    }
    if meta.permissions().mode() & 0o777 != 0o700 {
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700))?;
    }
    Ok(dir)
}

/// A private file the script's exit trap writes its environment to; removed when dropped.
#[derive(Debug)]
pub(super) struct EnvFile {
    pub(super) path: PathBuf,
}

impl EnvFile {
    pub(super) fn create() -> Result<EnvFile, EnvFileError> {
        let fail = |source| EnvFileError { folder: folder(), source };
        let dir = private_folder().map_err(fail)?;
        let name = format!("env-{}-{}", std::process::id(), uuid::Uuid::new_v4().simple());
        let path = dir.join(name);
        std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(&path).map_err(fail)?;
        Ok(EnvFile { path })
    }

    pub(super) fn read(&self) -> Vec<u8> {
        self.read_at_most(usize::MAX - 1)
    }

    /// The first `limit` bytes (and one more, to tell that there were more). The step may have
    /// put anything in the file's place: only a regular file is read (a FIFO would block the
    /// read, a link could lead anywhere).
    pub(super) fn read_at_most(&self, limit: usize) -> Vec<u8> {
        use std::io::Read;
        let mut bytes = Vec::new();
        let opened = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(nix::libc::O_NONBLOCK | nix::libc::O_NOFOLLOW)
            .open(&self.path);
        if let Ok(file) = opened
            && file.metadata().is_ok_and(|meta| meta.is_file())
        {
            let _ = file.take(limit as u64 + 1).read_to_end(&mut bytes);
        }
        bytes
    }
}

impl Drop for EnvFile {
    fn drop(&mut self) {
        // A folder the step made in its place goes too (a link is removed, not followed).
        if std::fs::remove_file(&self.path).is_err()
            && std::fs::symlink_metadata(&self.path).is_ok_and(|meta| meta.is_dir())
        {
            let _ = std::fs::remove_dir_all(&self.path);
        }
    }
}

/// Removes the files left by recorders that are gone (a `kill -9` of `opsbook run`); returns
/// how many. Files of live processes stay. Nothing to do (no folder, not ours) is 0.
pub fn sweep_env_files() -> usize {
    sweep_in(&folder())
}

fn sweep_in(dir: &Path) -> usize {
    let Ok(meta) = std::fs::symlink_metadata(dir) else { return 0 };
    if !meta.is_dir() || meta.uid() != nix::unistd::getuid().as_raw() {
        return 0;
    }
    let mut removed = 0;
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let name = entry.file_name();
        let Some(pid) = recorder_pid(&name.to_string_lossy()) else { continue };
        if !alive(pid) && std::fs::remove_file(entry.path()).is_ok() {
            removed += 1;
        }
    }
    removed
}

/// The recorder's pid in a file name `env-<pid>-<id>`.
fn recorder_pid(name: &str) -> Option<i32> {
    let rest = name.strip_prefix("env-")?;
    let (pid, id) = rest.split_once('-')?;
    let pid: i32 = pid.parse().ok()?;
    (pid > 0 && !id.is_empty()).then_some(pid)
}

/// Whether a process with this pid exists (signal 0; one of another user's counts as alive).
fn alive(pid: i32) -> bool {
    !matches!(kill(Pid::from_raw(pid), None), Err(Errno::ESRCH))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The pid of a process that has exited.
    fn dead_pid() -> i32 {
        let mut child = std::process::Command::new("true").spawn().expect("spawn true");
        let pid = child.id() as i32;
        child.wait().expect("wait");
        pid
    }

    #[test]
    fn files_of_dead_recorders_are_swept_and_live_ones_stay() {
        let tmp = tempfile::tempdir().expect("temp dir");
        let dead = dead_pid();
        let live = std::process::id();
        for name in [format!("env-{dead}-abc"), format!("env-{live}-def"), "notes.txt".to_owned(), "env-x-1".to_owned()]
        {
            std::fs::write(tmp.path().join(name), "A=1\0").expect("write");
        }
        assert_eq!(sweep_in(tmp.path()), 1);
        let mut left: Vec<String> = std::fs::read_dir(tmp.path())
            .expect("read")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        assert_eq!(left, [format!("env-{live}-def"), "env-x-1".to_owned(), "notes.txt".to_owned()]);
        assert_eq!(sweep_in(&tmp.path().join("missing")), 0);
    }

    #[test]
    fn an_env_file_is_private_named_after_its_recorder_and_removed_after() {
        let file = EnvFile::create().expect("created");
        let name = file.path.file_name().expect("name").to_string_lossy().into_owned();
        assert_eq!(recorder_pid(&name), Some(std::process::id() as i32));
        assert_eq!(file.path.parent(), Some(folder().as_path()));
        let mode = |p: &Path| std::fs::metadata(p).expect("exists").permissions().mode() & 0o777;
        assert_eq!((mode(&file.path), mode(&folder())), (0o600, 0o700));
        let path = file.path.clone();
        drop(file);
        assert!(!path.exists());
    }

    #[test]
    fn names() {
        assert_eq!(recorder_pid("env-123-0f9a"), Some(123));
        for bad in ["env-0-a", "env--a", "env-12", "env-12-", "opsbook-env-abc", "env-abc-1"] {
            assert_eq!(recorder_pid(bad), None, "{bad}");
        }
    }
}
