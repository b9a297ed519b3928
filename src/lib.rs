//! opsbook: literate runbooks. A folder of Markdown runbooks becomes a searchable site, an
//! incident console and a postmortem timeline; see `ARCHITECTURE.md` for the map of modules.
//!
//! Data flows one way: `config` + `load` -> `parse` -> `model` -> consumers (`listing`, `cli`).

pub mod alerts;
pub(crate) mod boundary;
pub mod check;
pub mod cli;
pub mod clock;
pub mod config;
pub mod diagnostic;
pub mod exec;
pub mod export;
pub(crate) mod extract;
pub mod freshness;
pub mod line;
pub(crate) mod listing;
pub mod load;
pub(crate) mod lookup;
pub mod model;
pub mod notify;
pub mod page;
pub mod parse;
pub(crate) mod private;
pub mod progress;
pub mod record;
pub mod runner;
pub mod server;
pub mod session;
pub mod site;
pub mod tester;
