//! `tether-git-serve ROOT USER PASSWORD`: serves the bare repositories under ROOT over smart
//! HTTP with basic auth on a loopback port, for the benchmarks and `dev/run.sh`. Prints the base
//! URL on its first line, then serves until killed.

use anyhow::Context;
use std::io::Write;
use std::path::PathBuf;
use tether_testkit::git::HttpGitServer;

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let usage = "usage: tether-git-serve ROOT USER PASSWORD";
    let root = PathBuf::from(args.next().context(usage)?);
    let user = args.next().context(usage)?;
    let password = args.next().context(usage)?;
    let server = HttpGitServer::start(&root, &user, &password)?;
    let mut stdout = std::io::stdout();
    writeln!(stdout, "{}", server.base_url())?;
    stdout.flush()?;
    loop {
        std::thread::park();
    }
}
