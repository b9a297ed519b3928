//! opsbook: literate runbooks. A folder of Markdown runbooks becomes a searchable site, an
//! incident console and a postmortem timeline; see `ARCHITECTURE.md` for the map of modules.
//!
//! Data flows one way: `config` + `load` -> `parse` -> `model` -> consumers (`listing`, `cli`).

pub mod boundary;
pub mod check;
pub mod cli;
pub mod config;
pub mod diagnostic;
pub mod exec;
pub mod export;
pub mod extract;
pub mod listing;
pub mod load;
pub(crate) mod lookup;
pub mod model;
pub mod parse;
pub mod private;
pub mod runner;
pub mod server;
pub mod session;
pub mod site;
pub mod tester;
