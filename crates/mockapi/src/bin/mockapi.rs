//! `mockapi --port 0 --port-file /tmp/mockapi.port`: serve on 127.0.0.1 until
//! killed. The port file is written (atomically) only once listening, so a
//! script can poll for it and then connect.

#![forbid(unsafe_code)]

use std::path::PathBuf;
use std::process::exit;

const USAGE: &str = "usage: mockapi [--port N] [--port-file PATH] [--log-limit N]

  --port N         port on 127.0.0.1 (default 0 = any free port)
  --port-file P    write the bound port to P once listening
  --log-limit N    keep at most N request-log entries (default 1000000)

Routes and knobs: see crates/mockapi/README.md";

struct Args {
    port: u16,
    port_file: Option<PathBuf>,
    log_limit: usize,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args { port: 0, port_file: None, log_limit: mockapi::DEFAULT_LOG_LIMIT };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--port" => args.port = value()?.parse().map_err(|_| "invalid --port")?,
            "--port-file" => args.port_file = Some(value()?.into()),
            "--log-limit" => args.log_limit = value()?.parse().map_err(|_| "invalid --log-limit")?,
            "-h" | "--help" => {
                println!("{USAGE}");
                exit(0);
            }
            other => return Err(format!("unknown argument '{other}'")),
        }
    }
    Ok(args)
}

fn main() {
    let args = parse_args().unwrap_or_else(|e| {
        eprintln!("mockapi: {e}\n{USAGE}");
        exit(2);
    });
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("tokio runtime");
    rt.block_on(async {
        let server = mockapi::MockServer::start_with(args.port, args.log_limit).await.unwrap_or_else(|e| {
            eprintln!("mockapi: cannot listen on 127.0.0.1:{}: {e}", args.port);
            exit(1);
        });
        if let Some(path) = &args.port_file {
            let tmp = path.with_extension("tmp");
            let written =
                std::fs::write(&tmp, format!("{}\n", server.port())).and_then(|_| std::fs::rename(&tmp, path));
            if let Err(e) = written {
                eprintln!("mockapi: cannot write {}: {e}", path.display());
                exit(1);
            }
        }
        eprintln!("mockapi listening on {}", server.url());
        std::future::pending::<()>().await;
    });
}
