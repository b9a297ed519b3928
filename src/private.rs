//! The book's private folder, `.opsbook/` (the session database, run logs, the outbox, caches,
//! the served site), and the private files in it: folders 0700 and files 0600, whatever the
//! umask, and an existing `.opsbook/` with looser modes tightened. Everything that creates
//! something there goes through these functions.
//!
//! Knows nothing of what the files hold.

use std::fs::{File, OpenOptions, Permissions};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Component, Path};

/// The private folder's name, beside `book.toml`.
pub const DIR_NAME: &str = ".opsbook";

const DIR_MODE: u32 = 0o700;
const FILE_MODE: u32 = 0o600;

/// Whether `path` is in (or is) a `.opsbook/` folder.
pub fn is_private_path(path: &Path) -> bool {
    path.components().any(|c| matches!(c, Component::Normal(name) if name == DIR_NAME))
}

/// Creates `dir` and its missing parents, as `std::fs::create_dir_all` does, but privately:
/// every folder it creates is 0700, and an existing `.opsbook` on the way and the folders below
/// it are tightened to 0700. Folders above `.opsbook` that exist are left as they are. For the
/// run logs' folder, `.opsbook/runs/<session>/`.
pub fn create_dir_all(dir: &Path) -> io::Result<()> {
    let mut below_private = false;
    let mut so_far = std::path::PathBuf::new();
    for component in dir.components() {
        so_far.push(component);
        if matches!(component, Component::Normal(name) if name == DIR_NAME) {
            below_private = true;
        }
        if !matches!(component, Component::Normal(_)) {
            continue;
        }
        match std::fs::metadata(&so_far) {
            Ok(meta) if meta.is_dir() => {
                if below_private && meta.permissions().mode() & 0o777 != DIR_MODE {
                    std::fs::set_permissions(&so_far, Permissions::from_mode(DIR_MODE))?;
                }
            }
            Ok(_) => {
                return Err(io::Error::new(
                    io::ErrorKind::AlreadyExists,
                    format!("`{}` is a file, not a folder; move it away", so_far.display()),
                ));
            }
            Err(err) if err.kind() == io::ErrorKind::NotFound => {
                match std::fs::DirBuilder::new().mode(DIR_MODE).create(&so_far) {
                    Ok(()) => {}
                    // Another process made it meanwhile: tightened below.
                    Err(err) if err.kind() == io::ErrorKind::AlreadyExists => {}
                    Err(err) => return Err(err),
                }
                // The umask may have taken bits away: set the mode itself.
                std::fs::set_permissions(&so_far, Permissions::from_mode(DIR_MODE))?;
            }
            Err(err) => return Err(err),
        }
    }
    Ok(())
}

/// Creates (or truncates) a file 0600 and opens it for writing; an existing file is tightened.
pub fn create_file(path: &Path) -> io::Result<File> {
    let file = OpenOptions::new().write(true).create(true).truncate(true).mode(FILE_MODE).open(path)?;
    tighten(&file)?;
    Ok(file)
}

/// Writes `bytes` to a 0600 file at `path` (its folder must exist).
pub fn write(path: &Path, bytes: &[u8]) -> io::Result<()> {
    create_file(path)?.write_all(bytes)
}

/// Makes sure a SQLite database file exists before SQLite opens it (SQLite would create it
/// 0644): created empty 0600 if missing (never truncated), its missing folders 0700. SQLite
/// gives the `-wal` and `-shm` files the database's mode. In `.opsbook/`, an existing database
/// and its `-wal` and `-shm` files are tightened to 0600; elsewhere (`sqlite:PATH`, perhaps a
/// file a team shares on purpose) existing modes are left alone.
pub fn prepare_database(path: &Path) -> io::Result<()> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        create_dir_all(parent)?;
    }
    let file = OpenOptions::new().write(true).create(true).truncate(false).mode(FILE_MODE).open(path)?;
    if is_private_path(path) {
        tighten(&file)?;
        tighten_database_companions(path)?;
    }
    Ok(())
}

/// Tightens the `-wal` and `-shm` files of the SQLite database at `path`, where they exist.
fn tighten_database_companions(path: &Path) -> io::Result<()> {
    for suffix in ["-wal", "-shm", "-journal"] {
        let mut name = path.as_os_str().to_owned();
        name.push(suffix);
        match File::open(Path::new(&name)) {
            Ok(file) => tighten(&file)?,
            Err(err) if err.kind() == io::ErrorKind::NotFound => {}
            Err(err) => return Err(err),
        }
    }
    Ok(())
}

fn tighten(file: &File) -> io::Result<()> {
    if file.metadata()?.permissions().mode() & 0o777 != FILE_MODE {
        file.set_permissions(Permissions::from_mode(FILE_MODE))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).expect("exists").permissions().mode() & 0o777
    }

    #[test]
    fn an_existing_loose_opsbook_is_tightened_and_new_folders_are_private() {
        let tmp = tempfile::tempdir().expect("temp dir");
        let root = tmp.path().join("book");
        std::fs::create_dir(&root).expect("folder");
        std::fs::set_permissions(&root, Permissions::from_mode(0o755)).expect("chmod");
        std::fs::create_dir(root.join(".opsbook")).expect("folder");
        std::fs::set_permissions(root.join(".opsbook"), Permissions::from_mode(0o777)).expect("chmod");
        create_dir_all(&root.join(".opsbook/runs/20260101-abcdef")).expect("created");
        assert_eq!(mode(&root), 0o755, "folders above `.opsbook` are left alone");
        for rel in [".opsbook", ".opsbook/runs", ".opsbook/runs/20260101-abcdef"] {
            assert_eq!(mode(&root.join(rel)), 0o700, "{rel}");
        }
        // Folders it creates outside a `.opsbook` are private too.
        create_dir_all(&tmp.path().join("elsewhere/db")).expect("created");
        assert_eq!(mode(&tmp.path().join("elsewhere")), 0o700);
        std::fs::write(tmp.path().join("file"), "").expect("write");
        let err = create_dir_all(&tmp.path().join("file/x")).expect_err("a file");
        assert!(err.to_string().contains("is a file, not a folder"), "{err}");
    }

    #[test]
    fn files_are_0600_even_when_they_existed_looser() {
        let tmp = tempfile::tempdir().expect("temp dir");
        let path = tmp.path().join("log");
        std::fs::write(&path, "old").expect("write");
        std::fs::set_permissions(&path, Permissions::from_mode(0o644)).expect("chmod");
        write(&path, b"new").expect("written");
        assert_eq!(mode(&path), 0o600);
        assert_eq!(std::fs::read(&path).expect("read"), b"new");
    }

    #[test]
    fn a_database_is_created_0600_and_never_truncated() {
        let tmp = tempfile::tempdir().expect("temp dir");
        let db = tmp.path().join(".opsbook/opsbook.db");
        prepare_database(&db).expect("prepared");
        assert_eq!((mode(&db), mode(&tmp.path().join(".opsbook"))), (0o600, 0o700));
        std::fs::write(&db, "data").expect("write");
        std::fs::write(tmp.path().join(".opsbook/opsbook.db-wal"), "wal").expect("write");
        for path in [db.clone(), tmp.path().join(".opsbook/opsbook.db-wal")] {
            std::fs::set_permissions(&path, Permissions::from_mode(0o644)).expect("chmod");
        }
        prepare_database(&db).expect("prepared");
        assert_eq!(std::fs::read(&db).expect("read"), b"data");
        assert_eq!((mode(&db), mode(&tmp.path().join(".opsbook/opsbook.db-wal"))), (0o600, 0o600));
        assert!(is_private_path(&db) && !is_private_path(tmp.path()));
        // Elsewhere, a new database is 0600 but an existing one keeps its mode.
        let shared = tmp.path().join("team/ops.db");
        prepare_database(&shared).expect("prepared");
        assert_eq!(mode(&shared), 0o600);
        std::fs::set_permissions(&shared, Permissions::from_mode(0o660)).expect("chmod");
        prepare_database(&shared).expect("prepared");
        assert_eq!(mode(&shared), 0o660);
    }
}
