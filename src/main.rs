//! `codex-teams`: the binary. Parsing and dispatch only; the work lives in the library.

fn main() -> std::process::ExitCode {
    codex_teams::cli::main()
}
