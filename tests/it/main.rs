//! Integration tests: one binary over fixture books, the seed, the public corpus and the CLI.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)]

mod alerts;
mod attacks;
mod book_root;
mod browser;
mod check;
mod cli;
mod common;
mod corpus;
mod edge_cases;
mod exec;
mod extract;
mod formats;
mod injection;
mod props;
mod seed;
mod selection;
pub mod serve;
pub mod sessions;
mod shared;
mod site;
mod stalls;
mod terminal;
mod testing;
mod wire;
